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

__all__ = ["Parsed", "business_kind", "duplicates", "iter_chunks", "parse", "parse_date", "read_rows"]

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
    return parse_rows(raw, file_name, mapping=mapping, record=partial(_record, kind=kind))


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


def _record(values: dict[str, Any], *, kind: str) -> dict[str, Any]:
    labels = FIELDS
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
