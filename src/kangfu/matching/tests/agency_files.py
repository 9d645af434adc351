"""The people and the files of the acceptance scenario (test_acceptance_agency_files.py): the
registry and the former system's recipients for go-live, and the eleven files of November.

Written from DOMAIN.md, not from the code: ID numbers are built by the GB 11643-1999 check, and the
files look as agencies send them — GBK with a title row, UTF-8 with a BOM, XLSX with date cells,
names or codes for 残疾类别, 一级/二/3 for 残疾等级, months written five ways, IDs that Excel mangled,
with a trailing ".0" or a lowercase x, blank lines and duplicate lines.

Everyone lives in 河西区 (120103) of Tianjin, in 大营门街道 (120103001) or 下瓦房街道 (120103002).
The former system paid every recipient through 2026-09; Kangfu pays from 2026-10 (the go-live month).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

M = dt.date
HEXI = "120103000000"
NANKAI = "120104000000"
DAYINGMEN = "120103001000"
XIAWAFANG = "120103002000"
NANKAI_STREET = "120104001000"  # 南开区 长虹街道
NANKAI_COMMUNITY = "120104001001"  # 南开区 长虹街道 光明路社区
BEIJING_CHAOYANG = "110105"
DAYINGMEN_COMMUNITIES = [
    "120103001001",
    "120103001004",
    "120103001006",
    "120103001007",
    "120103001009",
    "120103001010",
    "120103001012",
]
XIAWAFANG_COMMUNITIES = [
    "120103002001",
    "120103002003",
    "120103002005",
    "120103002010",
    "120103002011",
    "120103002014",
    "120103002016",
    "120103002019",
    "120103002023",
]

# GB 11643-1999: weights over the first 17 digits, sum mod 11 mapped to the check character.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


assert check_character("34052419800101001") == "X"  # DOMAIN.md's test values
assert check_character("36012119701121001") == "3"
assert check_character("44030819990110151") == "2"

_used: set[str] = set()


def id_number(born: dt.date, *, county: str = "120103", seq: int | None = None, check: str = "") -> str:
    """A valid 18-character ID number, never handed out twice; `check` asks for an X at the end, or
    for a digit ("digit": the number is to be written with ".0" after it)."""
    for s in [seq] if seq is not None else range(11, 999):
        first17 = f"{county}{born:%Y%m%d}{s:03d}"
        number = first17 + check_character(first17)
        wanted = {"": True, "X": number[-1] == "X", "digit": number[-1].isdigit()}[check]
        if number in _used or not wanted:
            continue
        _used.add(number)
        return number
    raise AssertionError("no sequence left")


def living_amount(grade: int) -> int:
    """Tianjin (DOMAIN.md): 生活补贴 300 a month for grades 1–2, 160 for grades 3–4."""
    return 300 if grade <= 2 else 160


CARE_AMOUNT = 200  # 重度残疾人护理补贴, grades 1–2


@dataclass
class Someone:
    key: str
    name: str
    born: dt.date
    community: str
    category: int | None = 4  # None: no certificate in the registry
    grade: int | None = None
    income: str = ""  # 低保 / 低保边缘 / 特困 in the registry
    income_start: dt.date = dt.date(2015, 3, 1)
    income_end: dt.date | None = None
    hukou: str = ""  # empty: where the person lives
    grants: tuple[str, ...] = ()
    start: dt.date = dt.date(2025, 1, 1)
    grant_street: str = ""  # the street the former system paid from, when not the residence's
    expires: dt.date = dt.date(2031, 6, 30)
    county: str = "120103"
    seq: int | None = None
    check: str = ""
    number: str = field(default="", init=False)

    def __post_init__(self):
        self.number = id_number(self.born, county=self.county, seq=self.seq, check=self.check)

    @property
    def street(self) -> str:
        return self.community[:9] + "000"

    @property
    def old_number(self) -> str:
        """The 15-digit number of a first-generation card (YYMMDD, no check)."""
        return self.number[:6] + self.number[8:17]


def _cast() -> dict[str, Someone]:
    d, x = DAYINGMEN_COMMUNITIES, XIAWAFANG_COMMUNITIES
    both, living, care = ("living", "care"), ("living",), ("care",)
    people = [
        # death reported by 公安, a duplicate line with a lowercase x
        Someone(
            "dead", "赵建国", M(1948, 2, 11), d[0], 4, 1, "低保", grants=both, start=M(2024, 1, 1), check="X"
        ),
        # prison; lives in 下瓦房 though the former system paid from 大营门
        Someone(
            "prison", "钱卫东", M(1975, 6, 2), x[0], 1, 2, "低保", grants=both, grant_street="大营门街道"
        ),
        # prison, then released: the release restores nothing
        Someone("released", "孙志强", M(1980, 9, 9), d[1], 4, 3, "低保", grants=living, start=M(2025, 6, 1)),
        Someone("moved_away", "李淑珍", M(1958, 4, 4), d[2], 2, 2, "低保", grants=both),
        Someone("transfer", "周海燕", M(1969, 12, 12), d[3], 6, 1, "低保", grants=both, county="120101"),
        Someone("cancelled", "吴长青", M(1966, 7, 7), d[4], 3, 2, grants=care),
        Someone(
            "renewed", "郑小红", M(1990, 1, 15), d[5], 5, 3, "低保", grants=living, expires=M(2026, 10, 15)
        ),
        Someone("within_band", "王德华", M(1955, 5, 5), d[6], 4, 2, "低保", grants=both),
        Someone("within_band_low", "冯桂兰", M(1962, 3, 3), x[1], 4, 3, "低保", grants=living),
        Someone("downgrade", "陈立新", M(1971, 8, 8), x[2], 1, 2, "低保", grants=both),
        Someone("upgrade", "褚丽娟", M(1983, 11, 11), x[3], 4, 4, "低保", grants=living),
        Someone(
            "injury_early", "卫国强", M(1970, 10, 10), x[4], 4, 1, "低保", grants=both, start=M(2024, 1, 1)
        ),
        Someone(
            "injury_late", "蒋春生", M(1978, 2, 2), x[5], 4, 3, "低保", grants=living, start=M(2025, 3, 1)
        ),
        Someone("elderly_higher", "沈玉兰", M(1940, 1, 20), d[0], 4, 2, "低保", grants=both),
        Someone("elderly_lower", "韩秀云", M(1942, 6, 18), d[1], 4, 1, grants=care),
        Someone("dibao_left", "杨国庆", M(1964, 10, 1), d[2], 4, 3, "低保", grants=living),
        Someone(
            "dibao_ended",
            "朱红梅",
            M(1967, 3, 8),
            d[3],
            4,
            3,
            "低保",
            income_end=M(2026, 9, 20),
            grants=living,
        ),
        Someone("dibao_edge", "秦建军", M(1973, 5, 20), d[4], 4, 4, "低保边缘", M(2020, 1, 1), grants=living),
        Someone("tekun", "尤宝珍", M(1950, 12, 1), d[5], 4, 1, "低保", grants=both),
        Someone("missing", "许大勇", M(1985, 4, 15), d[6], 4, 2, "低保", grants=both),
        # the same name and birth date: a death line without an ID fits both
        Someone("namesake_a", "王秀英", M(1950, 3, 8), d[0], 4, 1, "低保", grants=both, seq=2),
        Someone("namesake_b", "王秀英", M(1950, 3, 8), x[6], 4, 2, "低保", grants=both, seq=4),
        # on the 低保 roster as a 15-digit number and as an 18-digit one, each with ".0" after it
        Someone("point_zero_15", "何长林", M(1950, 6, 15), x[7], 4, 3, "低保", grants=living),
        Someone("point_zero_18", "吕文静", M(1988, 7, 7), x[8], 4, 4, "低保", grants=living, check="digit"),
        # 主动发现
        Someone("entitled_dibao", "施明", M(1976, 9, 19), d[0], 5, 3, "低保", M(2019, 1, 1)),
        Someone("entitled_edge", "张丽", M(1981, 2, 14), d[1], 4, 4, "低保边缘", M(2021, 5, 1)),
        Someone("entitled_new", "孔繁星", M(1995, 5, 5), d[2], None),
        Someone("new_but_tekun", "曹玉梅", M(1945, 7, 7), d[3], None, None, "特困", M(2020, 1, 1)),
        Someone("new_but_injured", "严峻", M(1979, 3, 30), d[4], None),
        Someone("hukou_elsewhere", "华静", M(1972, 8, 16), d[5], 4, 3, "低保", hukou=NANKAI_COMMUNITY),
        # certificate expiry reminders (DOMAIN.md: remind 6 months before)
        Someone(
            "expires_this_month",
            "金秀梅",
            M(1960, 1, 1),
            x[0],
            4,
            2,
            "低保",
            grants=both,
            expires=M(2026, 11, 20),
        ),
        Someone(
            "expires_in_april", "魏兰", M(1961, 2, 2), x[1], 4, 2, "低保", grants=both, expires=M(2027, 4, 30)
        ),
        Someone(
            "expires_in_may", "陶然", M(1962, 3, 3), x[2], 4, 2, "低保", grants=both, expires=M(2027, 5, 1)
        ),
    ]
    return {p.key: p for p in people}


def _fillers(n: int) -> list[Someone]:
    """Recipients nothing happens to, five patterns in turn: grade 1 both subsidies on 低保, grade 2
    both on 低保, grade 3 生活补贴 on 低保, grade 4 生活补贴 on 低保边缘, grade 2 护理补贴 alone."""
    communities = DAYINGMEN_COMMUNITIES + XIAWAFANG_COMMUNITIES
    out = []
    for i in range(n):
        pattern = i % 5
        grade, income, grants = [
            (1, "低保", ("living", "care")),
            (2, "低保", ("living", "care")),
            (3, "低保", ("living",)),
            (4, "低保边缘", ("living",)),
            (2, "", ("care",)),
        ][pattern]
        out.append(
            Someone(
                f"filler{i}",
                f"常{'甲乙丙丁戊己庚辛壬癸'[i % 10]}{i}",
                M(1940 + i % 50, 1 + i % 12, 1 + i % 28),
                communities[i % len(communities)],
                1 + i % 7,
                grade,
                income,
                M(2016, 1 + i % 12, 1),
                grants=grants,
                start=M(2026, 1, 1),
            )
        )
    return out


def _bystanders(n: int) -> list[Someone]:
    """Registered people with a certificate and no subsidy, on no roster."""
    return [
        Someone(
            f"bystander{i}",
            f"闲{i}",
            M(1945 + i % 40, 1 + i % 12, 2 + i % 27),
            DAYINGMEN_COMMUNITIES[i % len(DAYINGMEN_COMMUNITIES)],
            1 + i % 7,
            3 + i % 2,
        )
        for i in range(n)
    ]


CAST = _cast()
FILLERS = _fillers(300)
BYSTANDERS = _bystanders(100)
EVERYONE = [*CAST.values(), *FILLERS, *BYSTANDERS]


# ------------------------------------------------------------------ writing files


def gbk_csv(rows: list[list[object]]) -> bytes:
    return (
        "\r\n".join(",".join("" if c is None else str(c) for c in row) for row in rows).encode("gbk")
        + b"\r\n"
    )


def bom_csv(rows: list[list[object]]) -> bytes:
    return (
        "\n".join(",".join("" if c is None else str(c) for c in row) for row in rows).encode("utf-8-sig")
        + b"\n"
    )


def utf8_csv(rows: list[list[object]]) -> bytes:
    return ("\n".join(",".join("" if c is None else str(c) for c in row) for row in rows) + "\n").encode()


def xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def day(d: dt.date) -> dt.datetime:
    """A date cell, as Excel stores one."""
    return dt.datetime(d.year, d.month, d.day)


# 残疾等级 as 一级 … 四级, 一 … 四, 1–4 or 1级 … 4级.
_GRADE_STYLES = [
    lambda g: f"{'一二三四'[g - 1]}级",
    lambda g: "一二三四"[g - 1],
    lambda g: str(g),
    lambda g: f"{g}级",
]
_CATEGORY_NAMES = {1: "视力", 2: "听力", 3: "言语", 4: "肢体", 5: "智力", 6: "精神", 7: "多重"}


def people_file() -> bytes:
    """The registry at go-live, as 残联's certificate system and the 低保 system export it (XLSX,
    a title row, date cells and dates as text, categories as names or digits, grades many ways)."""
    header = [
        "序号",
        "姓名",
        "公民身份号码",
        "居住社区",
        "街道",
        "户籍地",
        "残疾人证号",
        "残疾类别",
        "残疾等级",
        "发证日期",
        "有效期至",
        "收入状况",
        "收入状况起始日期",
        "收入状况终止日期",
    ]
    rows: list[list[object]] = [["河西区持证残疾人及困难群众名册（截至2026年9月）"], header]
    for n, p in enumerate(EVERYONE, start=1):
        has_cert = p.category is not None and p.grade is not None
        grade_text = _GRADE_STYLES[n % 4](p.grade) if has_cert else ""
        by_name = n % 3 == 0
        rows.append(
            [
                n,
                p.name,
                p.number,
                p.community,
                "",
                p.hukou,
                p.number + f"{p.category}{p.grade}" if has_cert else "",
                (_CATEGORY_NAMES[p.category] if by_name else str(p.category)) if has_cert else "",
                grade_text,
                day(M(2020, 3, 1)) if has_cert and n % 2 else ("2020/3/1" if has_cert else ""),
                day(p.expires) if has_cert and n % 2 == 0 else (f"{p.expires:%Y-%m-%d}" if has_cert else ""),
                p.income,
                (
                    f"{p.income_start.year}年{p.income_start.month}月{p.income_start.day}日"
                    if n % 2
                    else day(p.income_start)
                )
                if p.income
                else "",
                day(p.income_end) if p.income_end else "",
            ]
        )
    return xlsx(rows)


_MONTH_STYLES = [
    lambda m: f"{m:%Y-%m}",
    lambda m: f"{m.year}/{m.month}",
    lambda m: f"{m:%Y%m}",
    lambda m: f"{m.year}年{m.month}月",
]


def recipients_file() -> bytes:
    """The former system's recipients (GBK, a title row, months written four ways), each paid
    through 2026-09 at the standard for their grade."""
    header = [
        "序号",
        "身份证号",
        "姓名",
        "补贴类别",
        "享受起始年月",
        "已发放至",
        "月金额",
        "街道",
        "开户银行",
        "银行账号",
        "发放状态",
    ]
    rows: list[list[object]] = [["河西区两项补贴享受对象（原系统导出 2026年9月）"], header]
    n = 0
    for p in EVERYONE:
        for kind in p.grants:
            n += 1
            style = _MONTH_STYLES[n % 4]
            amount = living_amount(p.grade) if kind == "living" else CARE_AMOUNT
            rows.append(
                [
                    n,
                    p.number,
                    p.name,
                    "困难残疾人生活补贴" if kind == "living" else "重度残疾人护理补贴",
                    style(p.start),
                    _MONTH_STYLES[(n + 1) % 4](M(2026, 9, 1)),
                    f"{amount}.00" if n % 2 else f"{amount}",
                    p.grant_street,
                    "天津农商银行",
                    f"62284800{n:011d}",
                    "正常",
                ]
            )
    return gbk_csv(rows)


def recipient_lines() -> int:
    return sum(len(p.grants) for p in EVERYONE)


# ------------------------------------------------------------------ November's files from the agencies


def _id(key: str) -> str:
    return CAST[key].number


UNKNOWN_DEAD = id_number(M(1960, 5, 5), county="120104")  # a valid number nobody registered here
UNKNOWN_INJURED = id_number(M(1966, 6, 6), county="120104")
MANGLED_MOVER = CAST["entitled_dibao"]  # the move file's line 6: Excel kept 15 digits of this number

FEEDS: dict[str, tuple[str, dict[str, str], str, str]] = {
    # source name: (kind, mapping {field: header}, file name, --month as the clerk typed it)
    "公安死亡": (
        "death",
        {"id_number": "公民身份号码", "name": "姓名", "birth_date": "出生日期", "event_date": "死亡日期"},
        "死亡人员.csv",
        "2026-11",
    ),
    "司法服刑": (
        "prison",
        {"id_number": "身份证号", "name": "姓名", "event_date": "判决生效日期"},
        "服刑人员.csv",
        "2026年11月",
    ),
    "司法刑满释放": ("release", {"id_number": "身份证号", "event_date": "释放日期"}, "释放.csv", "202611"),
    "法院宣告失踪": (
        "declared_missing",
        {"id_number": "身份证号", "event_date": "判决生效日期"},
        "宣告失踪.csv",
        "2026/11",
    ),
    "公安户籍迁移": (
        "move",
        {"id_number": "公民身份号码", "name": "姓名", "event_date": "迁出日期", "region": "迁入地区划代码"},
        "户籍迁移.xlsx",
        "2026-11",
    ),
    "残联证件业务": (
        "cert_mixed",
        {
            "id_number": "身份证号码",
            "name": "姓名",
            "business": "业务类型",
            "category": "残疾类别",
            "grade": "残疾等级",
            "event_date": "办理日期",
            "region": "迁入地",
        },
        "残联月报.xlsx",
        "2026年11月",
    ),
    "低保名单": ("dibao", {"id_number": "身份证号", "name": "姓名"}, "低保.csv", "202611"),
    "低保边缘名单": ("dibao_edge", {"id_number": "身份证号", "name": "姓名"}, "低保边缘.csv", "2026-11"),
    "特困供养名单": (
        "tekun",
        {"id_number": "身份证号", "name": "姓名", "event_date": "纳入日期"},
        "特困.csv",
        "2026/11",
    ),
    "老年人护理补贴名单": (
        "elderly_care",
        {"id_number": "身份证号", "name": "姓名", "event_date": "享受起始年月", "amount": "月发放金额"},
        "老年护理.xlsx",
        "2026-11",
    ),
    "人社工伤护理费": (
        "work_injury",
        {"id_number": "身份证号", "name": "姓名", "event_date": "享受起始年月", "amount": "月护理费"},
        "工伤.csv",
        "2026年11月",
    ),
}


def _death_file() -> bytes:
    # line 1 title, 2 header; 3 a death; 4 a line without an ID that fits two people; 5 blank;
    # 6 an ID Excel wrote as a number (unreadable); 7 a line of empty cells; 8 line 3 again, with a
    # lowercase x and the date written in Chinese; 9 someone not registered here.
    return gbk_csv(
        [
            ["河西区死亡人员信息（公安，2026年10月）"],
            ["序号", "姓名", "公民身份号码", "出生日期", "死亡日期"],
            [1, "赵建国", _id("dead"), "", "2026-08-15"],
            [2, "王秀英", "", "1950-03-08", "2026/9/25"],
            [],
            [3, "刘某", "1.20104E+17", "", "2026-09-01"],
            ["", "", "", "", ""],
            [4, "赵建国", _id("dead").lower(), "", "2026年8月15日"],
            [5, "路人甲", UNKNOWN_DEAD, "", "2026-10-03"],
        ]
    )


def _prison_file() -> bytes:
    return bom_csv(
        [
            ["身份证号", "姓名", "判决生效日期"],
            [_id("prison"), "钱卫东", "2026-09-20"],
            [_id("released"), "孙志强", "2026/8/10"],
        ]
    )


def _release_file() -> bytes:
    return bom_csv([["身份证号", "释放日期"], [_id("released"), "2026-10-25"]])


def _missing_file() -> bytes:
    return utf8_csv([["身份证号", "判决生效日期"], [_id("missing"), "2026年9月15日"]])


def _move_file() -> bytes:
    # line 6: an 18-digit number typed into a number cell keeps 15 significant digits
    mangled = float(int(MANGLED_MOVER.number[:15]) * 1000)
    return xlsx(
        [
            ["户籍迁移人员（公安，2026年11月）"],
            ["序号", "姓名", "公民身份号码", "迁出日期", "迁入地区划代码"],
            [1, "李淑珍", _id("moved_away"), day(M(2026, 9, 15)), BEIJING_CHAOYANG],
            [2, "周海燕", _id("transfer"), day(M(2026, 11, 2)), NANKAI_COMMUNITY],
            [3, FILLERS[0].name, FILLERS[0].number, day(M(2026, 10, 8)), "120103002001"],
            [4, MANGLED_MOVER.name, mangled, day(M(2026, 10, 9)), "120104001001"],
        ]
    )


def _mixed_file() -> bytes:
    header = ["序号", "姓名", "身份证号码", "业务类型", "残疾类别", "残疾等级", "办理日期", "迁入地"]
    return xlsx(
        [
            ["河西区残疾人证业务月报（2026年10月）"],
            header,
            [1, "孔繁星", _id("entitled_new"), "新办", "精神", 1, day(M(2026, 10, 9)), ""],  # line 3
            [2, "曹玉梅", _id("new_but_tekun"), "新办", "4", "一级", "2026/10/12", ""],  # 4
            [3, "严峻", _id("new_but_injured"), "新办", "肢体残疾", "2级", day(M(2026, 10, 15)), ""],  # 5
            [4, "吴长青", _id("cancelled"), "注销", "", "", "2026-08-31", ""],  # 6
            [5, "王德华", _id("within_band"), "等级变更", "", "一级", day(M(2026, 9, 1)), ""],  # 7
            [6, "冯桂兰", _id("within_band_low"), "等级变更", "肢体", "4", day(M(2026, 9, 3)), ""],  # 8
            [7, "陈立新", _id("downgrade"), "等级变更", "", "三", day(M(2026, 9, 10)), ""],  # 9, no category
            [8, "褚丽娟", _id("upgrade"), "等级变更", "肢体", "二级", day(M(2026, 5, 20)), ""],  # 10
            [9, "郑小红", _id("renewed"), "换领", "智力", "三级", day(M(2026, 10, 10)), ""],  # 11
            [10, "周海燕", _id("transfer"), "迁移", "精神", "一级", "", NANKAI_COMMUNITY],  # 12
        ]
    )


DIBAO_ROSTER = [
    p
    for p in EVERYONE
    if p.income == "低保"
    and p.key not in ("dibao_left", "dibao_ended")  # left 低保: absent from November's roster
    and ("living" in p.grants or p.key in ("entitled_dibao", "hukou_elsewhere"))
]
EDGE_ROSTER = [p for p in EVERYONE if p.income == "低保边缘"]


def _roster_id(p: Someone) -> str:
    if p.key == "point_zero_15":
        return p.old_number + ".0"  # a first-generation number that went through a float
    if p.key == "point_zero_18":
        return p.number + ".0"
    return p.number.lower()  # a lowercase x where there is one


def _dibao_file() -> bytes:
    rows: list[list[object]] = [
        ["天津市河西区城乡低保在保人员名单（2026年11月）"],
        ["序号", "姓名", "身份证号", "保障人口", "月保障金"],
    ]
    rows += [[n, p.name, _roster_id(p), 2, "1,010"] for n, p in enumerate(DIBAO_ROSTER, start=1)]
    return gbk_csv([[f'"{c}"' if "," in str(c) else c for c in row] for row in rows])


def _edge_file() -> bytes:
    return bom_csv([["姓名", "身份证号"], *[[p.name, p.number] for p in EDGE_ROSTER]])


def _tekun_file() -> bytes:
    return gbk_csv(
        [
            ["特困供养人员名单"],
            ["姓名", "身份证号", "纳入日期"],
            ["尤宝珍", _id("tekun"), "2026年9月5日"],
            ["曹玉梅", _id("new_but_tekun"), "2020-01-01"],
        ]
    )


def _elderly_file() -> bytes:
    return xlsx(
        [
            ["姓名", "身份证号", "享受起始年月", "月发放金额"],
            ["沈玉兰", _id("elderly_higher"), day(M(2026, 8, 1)), "300.00"],  # a date cell
            ["韩秀云", _id("elderly_lower"), "2026.10", "150元"],
        ]
    )


def _injury_file() -> bytes:
    return gbk_csv(
        [
            ["工伤保险长期待遇（生活护理费）享受人员"],
            ["姓名", "身份证号", "享受起始年月", "月护理费"],
            ["卫国强", _id("injury_early"), "2024年10月", "2100"],
            ["蒋春生", _id("injury_late"), "2026/7", "1800"],
            ["严峻", _id("new_but_injured"), "202609", "1500"],
            ["外区人", UNKNOWN_INJURED, "2024.10", "1200"],
        ]
    )


FILES = {
    "公安死亡": _death_file,
    "司法服刑": _prison_file,
    "司法刑满释放": _release_file,
    "法院宣告失踪": _missing_file,
    "公安户籍迁移": _move_file,
    "残联证件业务": _mixed_file,
    "低保名单": _dibao_file,
    "低保边缘名单": _edge_file,
    "特困供养名单": _tekun_file,
    "老年人护理补贴名单": _elderly_file,
    "人社工伤护理费": _injury_file,
}
