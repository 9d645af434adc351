"""Reading feed files as other departments send them (through `core.spreadsheets`).

CSV in UTF-8 (with or without BOM) or GBK, or XLSX; a title or blank rows above the header; columns in
any order and named as the source names them; merged cells (a value spread over several rows); IDs in
the old 15-digit form, or marked as text with a leading apostrophe; dates and months written many ways;
残疾类别 and 残疾等级 as names or digits; formula cells (their computed value is read). What is valid is
kept, every line that is not is reported with its number, and nothing is stored until the import is
confirmed.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError

from kangfu.core.ids import normalize_id_number
from kangfu.core.spreadsheets import (
    Parsed,
    id_text,
    iter_chunks,
    parse_category,
    parse_date,
    parse_grade,
    parse_month,
    read_rows,
    text,
)
from kangfu.core.spreadsheets import parse as parse_rows
from kangfu.matching.models import FIELDS, REQUIRED, FeedKind

NEEDS_PERSON = "缺少身份证号，也没有姓名和出生日期，无法对应到人。"
BAD_DATE = "{label}“{value}”不是可识别的日期或年月。"
MISSING = "缺少{label}。"
BAD_NUMBER = "{label}“{value}”不是数字。"
BAD_BUSINESS = "业务类型“{value}”应为新办、注销、等级变更、换领或迁移。"

__all__ = [
    "Parsed",
    "business_kind",
    "duplicates",
    "expected_columns",
    "headers",
    "iter_chunks",
    "parse",
    "parse_date",
    "read_rows",
]

# The headers agencies use for each field besides the one a source's mapping saved: a file headed
# 身份证号 where the mapping says 公民身份号码 is still read. A field's label (FIELDS) is always one.
# The ID and name lists are those go-live's imports accept (golive.kinds ID_COLUMN, NAME_COLUMN),
# which matching may not import.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "id_number": (
        "公民身份号码",
        "身份证号码",
        "证件号码",
        "证件号",
        "社会保障号码",
        "身份证",
        "公民身份证号",
        "居民身份证号码",
    ),
    "name": ("名字", "人员姓名", "残疾人姓名", "户主姓名", "申请人姓名", "死者姓名"),
    "birth_date": ("出生年月", "出生年月日"),
    "end_date": ("结束日期", "停止日期", "享受终止年月"),
    "region": ("迁入地区划", "迁入地区划代码", "行政区划代码"),
    "cert_number": ("残疾证号", "残疾人证号码"),
    "category": ("类别",),
    "grade": ("等级",),
    "amount": ("金额", "发放金额", "补贴金额", "月发放金额"),
    "institution": ("机构名称", "入住机构"),
    "business": ("业务", "办理类型"),
}
# What the date of the event is called depends on the event: a cremation record also has a 死亡日期,
# which is not its event.
_ROSTER_START = ("享受起始年月", "起始年月", "享受开始日期", "开始日期")
EVENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    FeedKind.DEATH: ("死亡日期", "死亡时间"),
    FeedKind.DECLARED_DEATH: ("宣告死亡日期", "判决生效日期", "判决日期"),
    FeedKind.DECLARED_MISSING: ("宣告失踪日期", "判决生效日期", "判决日期"),
    FeedKind.CREMATION: ("火化日期", "火化时间"),
    FeedKind.PRISON: ("判决生效日期", "入监日期", "收监日期", "服刑开始日期"),
    FeedKind.RELEASE: ("释放日期", "刑满释放日期", "出狱日期"),
    FeedKind.MOVE: ("迁出日期", "迁移日期"),
    FeedKind.CERT_NEW: ("发证日期", "办证日期"),
    FeedKind.CERT_CANCEL: ("注销日期",),
    FeedKind.CERT_CHANGE: ("变更日期", "评定日期"),
    FeedKind.CERT_RENEW: ("换领日期", "发证日期"),
    FeedKind.CERT_TRANSFER: ("迁移日期",),
    FeedKind.CERT_MIXED: ("办理日期", "业务日期"),
    FeedKind.DIBAO: _ROSTER_START,
    FeedKind.DIBAO_EDGE: _ROSTER_START,
    FeedKind.TEKUN: _ROSTER_START,
    FeedKind.ELDERLY_CARE: _ROSTER_START,
    FeedKind.WORK_INJURY: _ROSTER_START,
    FeedKind.CARE_HOME: ("入住日期", *_ROSTER_START),
}


def synonyms(kind: str, field: str) -> tuple[str, ...]:
    """The headers a field of a feed of this kind is also known by, its label first."""
    more = EVENT_SYNONYMS.get(kind, ()) if field == "event_date" else SYNONYMS.get(field, ())
    return (FIELDS[field], *more)


def headers(kind: str, mapping: dict[str, str]) -> dict[str, str]:
    """The mapping widened to every header each mapped field is known by ("saved|label|synonym…",
    which `core.spreadsheets.parse` reads as aliases); a header another field's mapping names stays
    that field's."""
    saved = {alias for header in mapping.values() for alias in header.split("|")}
    out = {}
    # A column the kind needs that the mapping forgot is looked for by its usual headers too.
    needed = {f: "" for f in _needed(kind) if f not in mapping}
    for field, header in {**mapping, **needed}.items():
        own = [h for h in header.split("|") if h]
        if field not in FIELDS:
            out[field] = header
            continue
        extra = [h for h in synonyms(kind, field) if h not in saved and h not in own]
        out[field] = "|".join(dict.fromkeys([*own, *extra]))
    return out


def _needed(kind: str) -> set[str]:
    """The fields every line of a feed of this kind must have (a mixed file's rows are checked
    against the kind their 业务类型 names)."""
    return {"business"} if kind == FeedKind.CERT_MIXED else set(REQUIRED.get(kind, ()))


def expected_columns(kind: str, mapping: dict[str, str]) -> list[dict[str, Any]]:
    """What the upload page says a source's file must look like: each column the mapping reads, by
    its saved header, whether a line needs it, and the other headers accepted for it; and any column
    the kind needs that the mapping lacks (every line would be refused for it)."""
    needed = _needed(kind)
    rows = []
    for field, header in mapping.items():
        if field not in FIELDS:
            continue
        own = header.split("|")
        rows.append(
            {
                "header": own[0],
                "label": FIELDS[field],
                "required": field in needed,
                "identity": field in ("id_number", "name", "birth_date"),
                "also": [h for h in (*own[1:], *synonyms(kind, field)) if h != own[0]],
                "missing": False,
            }
        )
    for field in sorted(needed - set(mapping)):
        rows.append(
            {
                "header": FIELDS[field],
                "label": FIELDS[field],
                "required": True,
                "identity": False,
                "also": list(synonyms(kind, field)[1:]),
                "missing": True,
            }
        )
    return rows


# What 残联's systems write in 业务类型, by the words that tell them apart; the first that appears
# wins (注销 before 变更: "变更注销" is a cancellation).
_BUSINESS = [
    (("注销",), FeedKind.CERT_CANCEL),
    (("换领", "换证", "换发", "到期"), FeedKind.CERT_RENEW),
    (("迁移", "迁入", "迁出", "转移", "转入", "转出"), FeedKind.CERT_TRANSFER),
    (("变更", "调整", "评残", "复评"), FeedKind.CERT_CHANGE),
    (("新办", "新增", "新发", "首次", "办证"), FeedKind.CERT_NEW),
]


def business_kind(value: Any) -> str:
    """The kind of a row of 残联's mixed file, from its 业务类型."""
    raw = re.sub(r"\s+", "", text(value))
    for words, kind in _BUSINESS:
        if any(word in raw for word in words):
            return kind
    raise ValueError(BAD_BUSINESS.format(value=raw) if raw else MISSING.format(label=FIELDS["business"]))


def parse(raw: bytes, file_name: str, *, kind: str, mapping: dict[str, str]) -> Parsed:
    # A line's problems name the column as the source's file heads it (缺少死亡日期, not 缺少发生日期).
    labels = {**FIELDS, **{f: h.split("|")[0] for f, h in mapping.items() if f in FIELDS and h}}
    return parse_rows(
        raw, file_name, mapping=headers(kind, mapping), record=partial(_record, kind=kind, labels=labels)
    )


def _day_or_month(value: Any) -> dt.date | None:
    """A date, or a month as its first day: allowance rosters give only 享受起始年月 (2024-10, 202112,
    2024年10月, 2024.10). A number between 1900 and 2200 is such a month typed into a number cell,
    not Excel's day 2024 (a date in 1905)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 1900 < value < 2200:
        return parse_month(value)
    try:
        return parse_date(value)
    except ValueError:
        return parse_month(value)


def _record(values: dict[str, Any], *, kind: str, labels: dict[str, str] = FIELDS) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind}
    problems: list[str] = []
    if kind == FeedKind.CERT_MIXED:
        try:
            out["kind"] = business_kind(values.get("business"))
        except ValueError as exc:
            problems.append(str(exc))
    id_given = text(values.get("id_number")) != ""  # a wrong one is reported as such, not as missing
    try:
        raw_id = id_text(values.get("id_number"))
        if raw_id:
            out["id_number"] = normalize_id_number(raw_id).number
    except ValueError as exc:
        problems.append(str(exc))
    except ValidationError as exc:
        problems.append(exc.messages[0])
    out["name"] = text(values.get("name"))[:50]
    try:
        out["birth_date"] = parse_date(values.get("birth_date"))
    except ValueError:
        problems.append(BAD_DATE.format(label=labels["birth_date"], value=text(values.get("birth_date"))))
    for key in ("event_date", "end_date"):
        try:
            out[key] = _day_or_month(values.get(key))
        except ValueError:
            problems.append(BAD_DATE.format(label=labels[key], value=text(values.get(key))))
    for key, read in (("category", parse_category), ("grade", parse_grade)):
        try:
            out[key] = read(values.get(key))
        except ValueError as exc:
            problems.append(str(exc))
    amount = text(values.get("amount")).replace(",", "").removesuffix("元")
    if amount:
        try:
            out["amount"] = Decimal(amount)
        except InvalidOperation:
            problems.append(BAD_NUMBER.format(label=labels["amount"], value=amount))
    out["region"] = text(values.get("region"))[:12] or None
    out["institution"] = text(values.get("institution"))[:100]
    if out["kind"] != FeedKind.CERT_MIXED:  # a mixed row of no known business has said so already
        for key in REQUIRED[out["kind"]]:
            if out.get(key) in (None, "") and not any(labels[key] in p for p in problems):
                problems.append(MISSING.format(label=labels[key]))
    if not id_given and not (out["name"] and out.get("birth_date")):
        problems.append(NEEDS_PERSON)
    if problems:
        raise ValueError("；".join(problems))
    return out


def duplicates(records: list[dict[str, Any]]) -> list[dict[str, int]]:
    """Lines naming a person an earlier line of the same kind already named, by ID number or else by
    name and birth date: kept as evidence (one item per person and rule whatever their number), and
    counted in the report so the sender can be told."""
    first: dict[tuple, int] = {}
    found = []
    for r in records:
        who = (r["id_number"],) if r.get("id_number") else (r["name"], r.get("birth_date"))
        key = (r["kind"], *who)
        if key in first:
            found.append({"line": r["line"], "same_as": first[key]})
        else:
            first[key] = r["line"]
    return found
