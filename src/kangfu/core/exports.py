"""Spreadsheet output that cannot smuggle formulas into the reader's Excel."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook

from kangfu.core import audit
from kangfu.core.dbrouting import replica_reads
from kangfu.core.models import AuditAction, User

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def xlsx_bytes(*, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return xlsx_workbook([(title, header, rows)])


def xlsx_workbook(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """One workbook with a sheet per (title, header, rows): a statistics page's tables, exported. Rows
    still to be read (a queryset, a generator) are read from the replica when there is one."""
    with replica_reads():
        return _workbook(sheets)


def _workbook(sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    book = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title=title[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(
    *,
    actor: User,
    filename: str,
    sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]],
    object_type: str,
    summary: str,
    changes: dict | None = None,
) -> HttpResponse:
    """An export as a download, with the audit row that says who took what: every export writes one."""
    content = xlsx_workbook(sheets)
    audit.record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=object_type,
        summary=summary,
        changes=changes or {},
    )
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
