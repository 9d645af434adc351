"""Reading feed files as other departments send them (through `core.spreadsheets`).

CSV in UTF-8 (with or without BOM) or GBK, or XLSX; a title or blank rows above the header; columns in
any order and named as the source names them; merged cells (a value spread over several rows); IDs in
the old 15-digit form; dates written many ways; formula cells (their computed value is read). What is
valid is kept, every line that is not is reported with its number, and nothing is stored until the
import is confirmed.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError

from kangfu.core.ids import normalize_id_number
from kangfu.core.spreadsheets import Parsed, iter_chunks, parse_date, read_rows
from kangfu.core.spreadsheets import parse as parse_rows

NEEDS_PERSON = "缺少身份证号，也没有姓名和出生日期，无法对应到人。"
BAD_DATE = "{label}“{value}”不是可识别的日期。"
MISSING = "缺少{label}。"
BAD_NUMBER = "{label}“{value}”不是数字。"

__all__ = ["Parsed", "iter_chunks", "parse", "parse_date", "read_rows"]


def parse(
    raw: bytes, file_name: str, *, mapping: dict[str, str], required: list[str], labels: dict[str, str]
) -> Parsed:
    return parse_rows(
        raw, file_name, mapping=mapping, record=partial(_record, required=required, labels=labels)
    )


def _record(values: dict[str, Any], required: list[str], labels: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    problems: list[str] = []
    raw_id = str(values.get("id_number") or "").strip()
    if raw_id:
        try:
            out["id_number"] = normalize_id_number(raw_id).number
        except ValidationError as exc:
            problems.append(exc.messages[0])
    out["name"] = str(values.get("name") or "").strip()[:50]
    for key in ("birth_date", "event_date", "end_date"):
        try:
            out[key] = parse_date(values.get(key))
        except ValueError:
            problems.append(BAD_DATE.format(label=labels[key], value=values.get(key)))
    for key in ("category", "grade"):
        value = values.get(key)
        if value not in (None, ""):
            try:
                out[key] = int(str(value).strip()[:1])
            except ValueError:
                problems.append(BAD_NUMBER.format(label=labels[key], value=value))
    amount = values.get("amount")
    if amount not in (None, ""):
        try:
            out["amount"] = Decimal(str(amount).replace(",", "").strip())
        except InvalidOperation:
            problems.append(BAD_NUMBER.format(label=labels["amount"], value=amount))
    out["region"] = str(values.get("region") or "").strip()[:12] or None
    out["institution"] = str(values.get("institution") or "").strip()[:100]
    for key in required:
        if out.get(key) in (None, "") and not any(labels[key] in p for p in problems):
            problems.append(MISSING.format(label=labels[key]))
    if not out.get("id_number") and not raw_id and not (out["name"] and out.get("birth_date")):
        problems.append(NEEDS_PERSON)
    if problems:
        raise ValueError("；".join(problems))
    return out
