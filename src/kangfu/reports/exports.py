"""A report's stored figures as the page's table, its chart, and its workbook in the fixed layout the
level above prints (title, unit, period, the table, the signature block). All read the snapshot; none
recomputes a figure."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from kangfu.core import audit
from kangfu.core.exports import XLSX, safe_cell
from kangfu.core.models import AuditAction, User
from kangfu.reports import measures
from kangfu.reports.models import Report
from kangfu.reports.rules import Period


def _display(kind: str, value: Any) -> str:
    if value is None:
        return "—"
    return str(value)


def _cell(kind: str, value: Any) -> Any:
    """The value as the workbook stores it: a number where it is one, a dash where there is none."""
    if value is None:
        return "—"
    if kind == "count":
        return int(value)
    return Decimal(str(value))


def table(report: Report, *, links: bool = True) -> dict:
    """The report's columns, rows and total, each cell with its drill-down link where there is one:
    for a district's figures, the list page behind the measure; for a city's row of a district,
    that district's submitted report."""
    figures = report.figures
    columns = figures["definition"]["columns"]
    period = Period(figures["period"]["kind"], report.period_start)
    rows_dim = figures.get("layout_rows", figures["definition"]["rows"])
    scope = measures.Scope(period=period, unit=report.unit_id, rows=rows_dim)
    sources = figures.get("sources")
    out_rows = []
    for row in figures["rows"]:
        cells = []
        for column in columns:
            value = row["values"].get(column["measure"])
            url = ""
            if links and sources is None:
                measure = measures.MEASURES.get(column["measure"])
                if measure is not None and measure.drill is not None:
                    url = measure.drill(scope, row["key"])
            elif links and row["key"] in sources:
                url = reverse("reports:report", args=[sources[row["key"]]["report"]])
            cells.append({"value": _display(column["kind"], value), "raw": value, "url": url})
        missing = sources is not None and rows_dim == "region" and row["key"] not in sources
        out_rows.append({"key": row["key"], "label": row["label"], "cells": cells, "missing": missing})
    total = [
        {
            "value": _display(c["kind"], figures["total"].get(c["measure"])),
            "raw": figures["total"].get(c["measure"]),
        }
        for c in columns
    ]
    return {
        "title": figures["definition"]["name"],
        "rows_label": figures["definition"].get("rows_label", ""),
        "columns": columns,
        "rows": out_rows,
        "total": total,
        "single": rows_dim == "unit",
        "missing": figures.get("missing", []),
    }


def chart(report: Report, shown: dict) -> dict:
    """One bar chart per report: its first column across the rows (a single-row report: every count
    column of its one row)."""
    if shown["single"]:
        columns = [(i, c) for i, c in enumerate(shown["columns"]) if c["kind"] == "count"]
        row = shown["rows"][0]["cells"] if shown["rows"] else []
        return {
            "main": {
                "labels": [c["label"] for _i, c in columns],
                "values": [_number(row[i]["raw"]) if row else None for i, _c in columns],
            }
        }
    return {
        "main": {
            "labels": [r["label"] for r in shown["rows"]],
            "values": [_number(r["cells"][0]["raw"]) for r in shown["rows"]],
        }
    }


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def _name(user: User | None) -> str:
    if user is None:
        return ""
    return user.full_name or user.get_username()


def signature(report: Report) -> dict:
    """The signature block: who filed it (the submitter, else who generated it), and blanks for the
    reviewer and the head, who sign on paper."""
    filer = report.submitted_by or report.generated_by
    when = report.submitted_at or report.generated_at
    return {"filer": _name(filer), "date": timezone.localtime(when).date() if when else None}


def xlsx_bytes(report: Report) -> bytes:
    """The report in its fixed layout: title; unit, period and version; the table with its total;
    the note; the signature block 填报人 / 审核人 / 负责人 / 日期."""
    shown = table(report, links=False)
    columns = shown["columns"]
    width = len(columns) + 1
    book = Workbook()
    sheet = book.active
    sheet.title = shown["title"][:31]
    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    sheet.append([shown["title"]])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.cell(1, 1).font = Font(size=14, bold=True)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center")
    status = "已上报" if report.status == "submitted" else report.get_status_display()
    sheet.append(
        [
            f"填报单位：{report.unit.name}",
            f"报告期：{report.figures['period']['label']}",
            f"第 {report.version} 版（{status}）",
        ]
    )
    sheet.append([shown["rows_label"], *(c["label"] for c in columns)])
    header_row = sheet.max_row
    for row in shown["rows"]:
        sheet.append(
            [
                safe_cell(row["label"]),
                *(_cell(c["kind"], cell["raw"]) for c, cell in zip(columns, row["cells"], strict=True)),
            ]
        )
    if not shown["single"]:
        sheet.append(
            [
                "合计",
                *(_cell(c["kind"], cell["raw"]) for c, cell in zip(columns, shown["total"], strict=True)),
            ]
        )
    formats = {"money": "0.00", "rate": "0.0"}
    for line in sheet.iter_rows(min_row=header_row, max_row=sheet.max_row, max_col=width):
        for cell in line:
            cell.border = border
            if cell.row > header_row and cell.column > 1:
                kind = columns[cell.column - 2]["kind"]
                if kind in formats:
                    cell.number_format = formats[kind]
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center")
    sheet.column_dimensions["A"].width = 18
    for i in range(2, width + 1):
        sheet.column_dimensions[get_column_letter(i)].width = 14
    sheet.append([])
    if report.correction_reason:
        sheet.append([safe_cell(f"更正原因：{report.correction_reason}")])
    sheet.append([safe_cell(f"填报说明：{report.note}")])
    sign = signature(report)
    sheet.append(
        [
            f"填报人：{sign['filer']}",
            "审核人：",
            "负责人：",
            f"日期：{sign['date']:%Y年%m月%d日}" if sign["date"] else "日期：",
        ]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_download(*, actor: User, report: Report) -> HttpResponse:
    """The workbook as a download, with the audit row every export leaves."""
    content = xlsx_bytes(report)
    audit.record(
        actor=actor,
        action=AuditAction.EXPORT,
        obj=report,
        summary=f"导出{report.definition.name}（{report.unit.name}，{report.figures['period']['label']}，第 {report.version} 版）",
    )
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = (
        f'attachment; filename="{report.code}-{report.unit_id[:6]}-{report.period_start:%Y%m}-v{report.version}.xlsx"'
    )
    return response
