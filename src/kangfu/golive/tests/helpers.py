"""Running a file through the import flow as the page and the command do."""

from __future__ import annotations

import io

from kangfu.golive import services
from kangfu.golive.models import ImportJob


def csv_bytes(rows: list[list[object]], *, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    for row in rows:
        out.write(",".join("" if c is None else str(c) for c in row) + "\r\n")
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def check(kind: str, content: bytes, *, actor=None, name: str = "file.csv", **options) -> ImportJob:
    job = services.job_create(actor=actor, kind=kind, file_name=name, content=content, options=options)
    return services.job_check(job)


def run(kind: str, content: bytes, *, actor=None, name: str = "file.csv", **options) -> ImportJob:
    """Check and confirm: the valid lines are imported, the others reported."""
    job = check(kind, content, actor=actor, name=name, **options)
    if job.status == "done":  # the same file was imported before: nothing to do
        return job
    job = services.job_confirm(actor=actor, job=job)
    return services.job_apply(job)


def lines_with_errors(job: ImportJob) -> dict[int, str]:
    return {e["line"]: e["message"] for e in job.errors}
