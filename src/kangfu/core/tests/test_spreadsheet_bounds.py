"""Hostile spreadsheets are refused before they cost the server: a "cell bomb" (a small XLSX that
unpacks to millions of empty styled cells), a sheet far too wide, a CSV row of thousands of columns."""

import io
import time
import zipfile

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from kangfu.core import spreadsheets


def _bomb(cells: int) -> bytes:
    """A valid-looking XLSX whose one sheet holds `cells` empty cells with a style: tiny zipped."""
    row = "".join(f'<c r="A{i}" s="1"/>' for i in range(1, 1001))
    rows = "".join(f'<row r="{r}">{row}</row>' for r in range(1, cells // 1000 + 1))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def test_a_cell_bomb_is_refused_in_well_under_two_seconds_with_what_to_do():
    raw = _bomb(1_000_000)
    assert len(raw) < 300 * 1024  # a few hundred KB on the wire
    started = time.monotonic()
    with pytest.raises(ValidationError) as caught:
        spreadsheets.read_rows(raw, "名单.xlsx")
    assert time.monotonic() - started < 2
    assert "CSV" in caught.value.messages[0]


def test_a_sheet_declared_wider_than_any_roster_is_refused_from_its_dimension():
    book = Workbook()
    book.active.cell(row=1, column=1, value="身份证号")
    book.active.cell(row=2, column=5000, value="x")
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ValidationError) as caught:
        spreadsheets.read_rows(out.getvalue(), "名单.xlsx")
    assert caught.value.messages == [spreadsheets.TOO_MANY_COLUMNS.format(line=1, n=5000, limit=300)]


def test_a_csv_row_of_thousands_of_columns_is_refused_with_its_line():
    raw = ("身份证号,姓名\n" + ",".join(["1"] * 5000) + "\n").encode()
    with pytest.raises(ValidationError) as caught:
        spreadsheets.read_rows(raw, "名单.csv")
    assert caught.value.messages == [spreadsheets.TOO_MANY_COLUMNS.format(line=2, n=5000, limit=300)]


def test_trailing_empty_columns_a_spreadsheet_program_left_do_not_count():
    raw = ("身份证号,姓名" + "," * 1000 + "\n120103197011210016,张三" + "," * 1000 + "\n").encode()
    rows = spreadsheets.read_rows(raw, "名单.csv")
    assert rows[1][1][:2] == ["120103197011210016", "张三"]
