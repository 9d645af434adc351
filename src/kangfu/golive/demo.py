"""A district's legacy export for trying the go-live imports: 南开区's people, recipients and what the
former system paid, written as agencies write them (a title row, GBK, Chinese grades and months, IDs
that Excel marked as text, community names without 居委会). The demo writes them under
var/golive-demo/ for `nankai.admin`; the browser test reads the same files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from kangfu.core.ids import check_character
from kangfu.core.months import add_months, month_start

NANKAI = "120104000000"
# (street, community name as files write it)
PLACES = [
    ("长虹街道", "光明路社区"),
    ("长虹街道", "雅云里社区"),
    ("鼓楼街道", "天越园社区"),
    ("鼓楼街道", "天霖园社区"),
]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
GRADES = ["一级", "二级", "三级", "四级"]
CATEGORIES = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]


@dataclass(frozen=True)
class Sample:
    id_number: str
    name: str
    street: str
    community: str
    category: int
    grade: int


def people(n: int = 40) -> list[Sample]:
    out = []
    for i in range(n):
        born = dt.date(1945 + i % 50, 1 + i % 12, 1 + (i * 7) % 28)
        first17 = f"120104{born:%Y%m%d}{(i * 2 + 1) % 1000:03d}"
        street, community = PLACES[i % len(PLACES)]
        out.append(
            Sample(
                id_number=first17 + check_character(first17),
                name=SURNAMES[i % len(SURNAMES)]
                + GIVEN[(i * 3) % len(GIVEN)]
                + GIVEN[(i * 5 + 1) % len(GIVEN)],
                street=street,
                community=community,
                category=1 + i % 7,
                grade=1 + i % 4,
            )
        )
    return out


def people_xlsx(samples: list[Sample]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["南开区持证残疾人名册（原残联系统导出）"])
    sheet.append(
        [
            "序号",
            "姓名",
            "公民身份号码",
            "街道",
            "社区",
            "残疾证号",
            "残疾类别",
            "残疾等级",
            "发证日期",
            "有效期至",
            "低保类型",
            "纳入日期",
        ]
    )
    for i, s in enumerate(samples, start=1):
        sheet.append(
            [
                i,
                s.name,
                "'" + s.id_number,
                s.street,
                s.community,
                s.id_number + f"{s.category}{s.grade}",
                CATEGORIES[s.category - 1],
                GRADES[s.grade - 1],
                "2019/6/1",
                "2029/5/31",
                "低保" if i % 3 else "低保边缘",
                "2018年3月1日",
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def recipients_csv(samples: list[Sample], *, live_from: dt.date) -> bytes:
    """Recipients of 生活补贴 (everyone) and 护理补贴 (grades 1–2), paid through the month before
    go-live at Tianjin's standards, as the national 两补 system lists them (GBK)."""
    paid = add_months(live_from, -1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["身份证号", "姓名", "补贴类型", "享受起始年月", "发放至", "月金额", "街道", "开户银行", "银行账号"]
    )
    start = add_months(live_from, -12)
    for i, s in enumerate(samples):
        living = "300" if s.grade <= 2 else "160"
        account = f"62284800{i:010d}"
        writer.writerow(
            [
                s.id_number,
                s.name,
                "困难残疾人生活补贴",
                f"{start:%Y年%m月}",
                f"{paid:%Y.%m}",
                living,
                s.street,
                "天津农商银行",
                account,
            ]
        )
        if s.grade <= 2:
            writer.writerow(
                [
                    s.id_number,
                    s.name,
                    "重度残疾人护理补贴",
                    f"{start:%Y%m}",
                    f"{paid:%Y/%m}",
                    "200",
                    s.street,
                    "天津农商银行",
                    account,
                ]
            )
    return out.getvalue().encode("gb18030")


def staff_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["用户名", "姓名", "角色", "所属机构", "管辖区划", "手机"])
    writer.writerow(
        ["nankai.changhong", "长虹街道 工作人员", "街道工作人员", "南开区民政局", "长虹街道", "13900001111"]
    )
    writer.writerow(
        ["nankai.gulou", "鼓楼街道 工作人员", "街道工作人员", "南开区民政局", "鼓楼街道", "13900002222"]
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_samples(folder: Path, *, live_from: dt.date, n: int = 40) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    samples = people(n)
    files = {
        "1-人员名册.xlsx": people_xlsx(samples),
        "2-享受对象.csv": recipients_csv(samples, live_from=live_from),
        "3-工作人员账号.csv": staff_csv(),
    }
    paths = []
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content)
        paths.append(path)
    return paths


def load(out) -> None:
    live_from = month_start(timezone.localdate())
    folder = Path(settings.VAR_DIR) / "golive-demo"
    write_samples(folder, live_from=live_from)
    out.write(f"上线迁移演示文件（南开区，上线月份 {live_from:%Y-%m}）：{folder}")
