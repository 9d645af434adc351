"""Reading the spreadsheets other offices send: rosters, feeds, lists.

CSV in UTF-8 (with or without BOM) or GBK, or XLSX; a title or blank rows above the header; columns in
any order and named as the sender names them; merged cells (a value spread over several rows); dates
written many ways; formula cells (their computed value is read). Each caller turns a row into its own
record; what is valid is kept and every line that is not is reported with its number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError

from kangfu.core.uploads import decode_text

NO_HEADER = "没有找到表头：文件前 10 行中没有与所需各列相符的一行（需要：{headers}）。"
UNREADABLE = "无法读取该文件：请上传 CSV 或 XLSX 文件。"

_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value: Any) -> dt.date | None:
    """A date from whatever a spreadsheet or a clerk wrote; None for an empty cell."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and 1 < value < 80000:  # an Excel serial day number
        return EXCEL_EPOCH + dt.timedelta(days=int(value))
    text = str(value).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return dt.date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                break
    raise ValueError(text)


def _clean_header(value: Any) -> str:
    return re.sub(r"\s+", "", str(value or ""))


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def read_rows(raw: bytes, file_name: str) -> list[tuple[int, list[Any]]]:
    """(line number, cells) for every row of the file, as the user sees the line numbers."""
    suffix = PurePath(file_name).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(raw)
    if suffix in (".csv", ".txt"):
        text = decode_text(raw)
        # decode_text looks for NUL only at the start; one further down would reach the database,
        # which refuses it (PostgreSQL) in the middle of an import.
        if "\x00" in text:
            raise ValidationError(UNREADABLE)
        try:
            return [
                (n, [_cell(c) for c in row]) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)
            ]
        except csv.Error as exc:
            # A field past the csv module's limit, typically an unclosed quote that swallowed the
            # rest of the file: the file cannot be read as lines.
            raise ValidationError(UNREADABLE) from exc
    raise ValidationError(UNREADABLE)


def _xlsx_rows(raw: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        # data_only: a formula cell gives the value Excel computed, not the formula.
        book = load_workbook(io.BytesIO(raw), data_only=True)
    except Exception as exc:
        raise ValidationError(UNREADABLE) from exc
    sheet = book.worksheets[0]
    merged = {}
    for cells in sheet.merged_cells.ranges:
        top_left = sheet.cell(row=cells.min_row, column=cells.min_col).value
        for row in range(cells.min_row, cells.max_row + 1):
            for col in range(cells.min_col, cells.max_col + 1):
                merged[(row, col)] = top_left
    rows = []
    for row in sheet.iter_rows():
        values = [_cell(merged.get((c.row, c.column), c.value)) for c in row]
        rows.append((row[0].row if row else len(rows) + 1, values))
    return rows


@dataclass
class Parsed:
    """The valid records of a feed and the reasons for every line left out."""

    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    total: int = 0


def parse(
    raw: bytes, file_name: str, *, mapping: dict[str, str], record: Callable[[dict[str, Any]], dict[str, Any]]
) -> Parsed:
    """Find the header row by `mapping` (field → column title) and turn every non-blank line after
    it into a record with `record`, which raises ValueError with the line's problems."""
    rows = read_rows(raw, file_name)
    # A title may have aliases, "身份证号|公民身份号码": senders name the same column differently.
    wanted = {_clean_header(alias): f for f, h in mapping.items() for alias in h.split("|")}
    header_at, columns = None, {}
    for index, (_line, cells) in enumerate(rows[:10]):
        found = {i: wanted[_clean_header(c)] for i, c in enumerate(cells) if _clean_header(c) in wanted}
        if len(set(found.values())) >= max(1, (len(mapping) + 1) // 2):
            header_at, columns = index, found
            break
    if header_at is None:
        raise ValidationError(NO_HEADER.format(headers="、".join(h.split("|")[0] for h in mapping.values())))
    parsed = Parsed()
    for line, cells in rows[header_at + 1 :]:
        if not any(c not in (None, "") for c in cells):
            continue  # blank lines are not lines
        parsed.total += 1
        values = {f: cells[i] if i < len(cells) else None for i, f in columns.items()}
        try:
            parsed.records.append({"line": line, **record(values)})
        except ValueError as exc:
            parsed.errors.append((line, str(exc)))
    return parsed


def iter_chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
