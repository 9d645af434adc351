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
XLSX_TOO_BIG = (
    "表格解压后过大或含大量空白单元格、格式（{detail}），无法安全读取；请只保留数据行和列，"
    "另存为 CSV 后上传。"
)
TOO_MANY_COLUMNS = "第 {line} 行有 {n} 列，超过上限 {limit} 列；请只保留所需各列后上传。"
TOO_MANY_ROWS = "文件超过 {limit} 行，请分批上传。"

# Bounds on what a spreadsheet may make the server do, checked before a cell is read: an XLSX is a
# zip of XML, and a few hundred KB can unpack to gigabytes of empty, styled cells ("cell bomb").
MAX_COLUMNS = 300
MAX_XML_BYTES = 256 * 1024 * 1024  # a sheet of a million rows of 20 short columns is about 150 MB
MAX_RATIO = 150  # data XML compresses 5–20×; far beyond that is padding
MAX_ROWS = 3_000_000

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
            return list(
                _bounded(
                    (n, [_cell(c) for c in row])
                    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)
                )
            )
        except csv.Error as exc:
            # A field past the csv module's limit, typically an unclosed quote that swallowed the
            # rest of the file: the file cannot be read as lines.
            raise ValidationError(UNREADABLE) from exc
    raise ValidationError(UNREADABLE)


def guard_xlsx(source: bytes | PurePath | str, *, max_xml_bytes: int = MAX_XML_BYTES) -> None:
    """Refuse an XLSX that would unpack past the bounds, from the zip's own directory and the sheet's
    declared dimension: nothing is decompressed but the first kilobytes of the first sheet."""
    import zipfile

    try:
        book = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        members = book.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(UNREADABLE) from exc
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    if total > max_xml_bytes:
        raise ValidationError(XLSX_TOO_BIG.format(detail=f"解压后 {total // (1024 * 1024)} MB"))
    if total / packed > MAX_RATIO and total > 8 * 1024 * 1024:
        raise ValidationError(XLSX_TOO_BIG.format(detail=f"压缩比 {total // packed}:1"))
    sheets = sorted(m.filename for m in members if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", m.filename))
    if not sheets:
        return
    with book.open(sheets[0]) as handle:
        head = handle.read(4096).decode("utf-8", "replace")
    found = re.search(r'<dimension ref="[A-Z]+\d+:([A-Z]+)(\d+)"', head)
    if found:
        columns = 0
        for letter in found.group(1):
            columns = columns * 26 + ord(letter) - 64
        if columns > MAX_COLUMNS:
            raise ValidationError(TOO_MANY_COLUMNS.format(line=1, n=columns, limit=MAX_COLUMNS))
        if int(found.group(2)) > MAX_ROWS:
            raise ValidationError(TOO_MANY_ROWS.format(limit=MAX_ROWS))


def _bounded(rows: Iterator[tuple[int, list[Any]]]) -> Iterator[tuple[int, list[Any]]]:
    """Rows as read, stopping with a clear message at a row too wide or past the row limit; trailing
    empty cells (a styled but empty column) do not count."""
    for n, cells in rows:
        if n > MAX_ROWS:
            raise ValidationError(TOO_MANY_ROWS.format(limit=MAX_ROWS))
        if len(cells) > MAX_COLUMNS:
            while cells and cells[-1] in (None, ""):
                cells.pop()
            if len(cells) > MAX_COLUMNS:
                raise ValidationError(TOO_MANY_COLUMNS.format(line=n, n=len(cells), limit=MAX_COLUMNS))
        yield n, cells


def _xlsx_rows(raw: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    guard_xlsx(raw)
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
    return list(
        _bounded(
            (row[0].row if row else n, [_cell(merged.get((c.row, c.column), c.value)) for c in row])
            for n, row in enumerate(sheet.iter_rows(), start=1)
        )
    )


@dataclass
class Parsed:
    """The valid records of a feed and the reasons for every line left out."""

    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    total: int = 0
    blank: int = 0  # blank lines between data lines (those after the last one are no lines at all)


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
    blank = 0
    for line, cells in rows[header_at + 1 :]:
        if not any(c not in (None, "") for c in cells):
            blank += 1  # not a line to check, but counted in the report if data follows
            continue
        parsed.blank, blank = parsed.blank + blank, 0
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


# ------------------------------------------------------------------ streaming and values as agencies write them

EXCEL_MANGLED_ID = "“{value}”被 Excel 当作数字保存，末几位已丢失；请把该列设为文本后重新导出。"
BAD_MONTH = "“{value}”不是可识别的月份（如 2024-10、2024/7、202112、2024年10月）。"
BAD_CATEGORY = "残疾类别“{value}”应为视力、听力、言语、肢体、智力、精神、多重或 1 至 7。"
BAD_GRADE = "残疾等级“{value}”应为一级至四级或 1 至 4。"
_SNIFF_BYTES = 1 << 20


def _encoding_of(path: PurePath) -> str:
    """UTF-8 (with or without BOM) or GB18030, judged from the first megabyte (the end of the sample
    may cut a character in two, which the incremental decoder allows)."""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head[:4096]:
        raise ValidationError(UNREADABLE)
    import codecs

    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


def iter_file_rows(path: PurePath, file_name: str | None = None) -> Iterator[tuple[int, list[Any]]]:
    """(line number, cells) for every row of a file on disk, read as a stream: a file of a million
    rows is never held in memory. CSV in UTF-8 or GBK; XLSX through calamine (first sheet)."""
    suffix = PurePath(file_name or str(path)).suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        if suffix != ".xls":
            guard_xlsx(path)
        yield from _bounded(_calamine_rows(path))
        return
    if suffix not in (".csv", ".txt"):
        raise ValidationError(UNREADABLE)
    encoding = _encoding_of(path)
    with open(path, encoding=encoding, errors="strict", newline="") as handle:
        try:
            for n, cells in _bounded((n, row) for n, row in enumerate(csv.reader(handle), start=1)):
                if any("\x00" in c for c in cells):
                    raise ValidationError(UNREADABLE)
                yield n, [_cell(c) for c in cells]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ValidationError(UNREADABLE) from exc


def _calamine_rows(path: PurePath) -> Iterator[tuple[int, list[Any]]]:
    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except Exception as exc:  # calamine raises its own errors for anything it cannot open
        raise ValidationError(UNREADABLE) from exc
    for n, row in enumerate(rows, start=1):
        yield n, [_cell(c) for c in row]


def clean_header(value: Any) -> str:
    return _clean_header(value)


def text(value: Any) -> str:
    """A cell as text: numbers without a trailing .0, a leading apostrophe (Excel's text mark) dropped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lstrip("'").strip()


def id_text(value: Any) -> str:
    """An ID-number cell; a number Excel turned into a float has lost its last digits and is refused.
    Excel keeps 15 significant digits, so an 18-digit ID typed into a number cell comes back with
    zeros after the fifteenth (the readers have already turned the float into an int)."""
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(EXCEL_MANGLED_ID.format(value=value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        digits = str(int(value))
        if len(digits) > 15 and not digits[15:].strip("0"):
            raise ValueError(EXCEL_MANGLED_ID.format(value=f"{value:.14E}"))
    raw = text(value)
    if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", raw):
        raise ValueError(EXCEL_MANGLED_ID.format(value=raw))
    # A number column written out as text by another system ("120103500615123.0"): every digit is
    # there (an 18-digit one is still checked by its check character), only the ".0" is extra.
    whole = re.fullmatch(r"(\d{15}|\d{17}[\dXx])\.0+", raw)
    return whole.group(1) if whole else raw


_MONTH_PATTERNS = [
    re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:月)?(?:[-/.]\d{1,2}日?)?$"),
    re.compile(r"^(\d{4})(\d{2})(?:\d{2})?$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*\d{1,2}\s*日?$"),
]


def parse_month(value: Any) -> dt.date | None:
    """The first day of a month written as 2024-10, 2024/7, 2024.10, 202112, 2024年10月, a full date
    or an XLSX date cell; None for an empty cell. 2024.1 is January (a number cell cannot say 2024.10
    apart from 2024.1, so a float is read as the text it shows)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().replace(day=1)
    if isinstance(value, dt.date):
        return value.replace(day=1)
    raw = text(value)
    for pattern in _MONTH_PATTERNS:
        match = pattern.match(raw)
        if match:
            year, month = int(match[1]), int(match[2])
            if 1900 < year < 2200 and 1 <= month <= 12:
                return dt.date(year, month, 1)
            break
    raise ValueError(BAD_MONTH.format(value=raw))


_CATEGORY_NAMES = {"视力": 1, "听力": 2, "言语": 3, "肢体": 4, "智力": 5, "精神": 6, "多重": 7}
_GRADE_NAMES = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def parse_category(value: Any) -> int | None:
    """残疾类别 as a name (视力, 视力残疾) or the certificate's digit 1–7; None for an empty cell."""
    raw = text(value).removesuffix("残疾").removesuffix("类")
    if not raw:
        return None
    if raw in _CATEGORY_NAMES:
        return _CATEGORY_NAMES[raw]
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 7:
        return int(raw)
    raise ValueError(BAD_CATEGORY.format(value=text(value)))


def parse_grade(value: Any) -> int | None:
    """残疾等级 as 一级 … 四级, 一 … 四, 1 … 4 or 1级; None for an empty cell."""
    raw = text(value).removesuffix("级").removeprefix("第")
    if not raw:
        return None
    if raw in _GRADE_NAMES:
        return _GRADE_NAMES[raw]
    raise ValueError(BAD_GRADE.format(value=text(value)))
