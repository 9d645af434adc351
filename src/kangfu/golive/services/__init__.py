"""The one import flow: upload → check (a line-by-line report, nothing stored) → confirm → apply.

Every channel (page, `kangfu import`, API) calls these functions. Files are streamed from disk in
chunks, so a file of a million rows is never held in memory; checking and applying run as
background tasks with progress. The confirmed import is one transaction: killed half-way, it
leaves nothing, and the job can be confirmed again.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import DatabaseError, transaction
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.dbstats import refresh_statistics
from kangfu.core.models import AuditAction, User
from kangfu.core.spreadsheets import clean_header
from kangfu.golive.kinds import CHANGED, COUNT_LABELS, KINDS, NEW, UNCHANGED, Kind, Record, index_stamp
from kangfu.golive.models import ImportJob, JobStatus, SavedMapping
from kangfu.golive.services import cleaned
from kangfu.golive.services.lines import clean_lines, rows

UNKNOWN_KIND = "没有“{kind}”这类导入；可选：{kinds}。"
WRONG_TYPE = "只接受 CSV 或 XLSX 文件。"
EMPTY_FILE = "文件是空的。"
NO_HEADER = "文件前 10 行中没有找到表头，请在下方为各列指定对应的表头。"
MISSING_COLUMNS = "缺少必需的列：{columns}。请在下方为它们指定文件中的表头。"
NOT_PREVIEW = "只有检查完毕、待确认的导入可以确认。"
NOT_OPEN = "该导入已确认或已放弃，不能再修改。"
BAD_MAPPING = "列对应有误：文件中没有表头“{header}”。"
DUPLICATE_LINE = "与第 {line} 行重复（同一人或同一记录在文件中出现两次），本行不导入。"
NOTHING_VALID = "没有可导入的有效行。"
SAME_FILE = (
    "与第 {pk} 号导入（{when}）的文件相同：其中的数据已经导入，本次没有改变任何数据。"
    "如需按此文件逐行重新核对：页面上选“逐行重新检查”，命令行加 --recheck。"
)
NOT_SAME_FILE = "只有与已导入文件相同而未逐行检查的导入可以重新检查。"
INTERRUPTED = "导入被数据库中断（可能有人同时修改了相同的记录），没有写入任何数据；请重新确认导入。"
ERRORS_KEPT = 2000
ALLOWED = (".csv", ".txt", ".xlsx", ".xlsm")


def kind_for(name: str) -> type[Kind]:
    try:
        return KINDS[name]
    except KeyError:
        raise ValidationError(UNKNOWN_KIND.format(kind=name, kinds="、".join(KINDS))) from None


def _require(actor: User | None, kind: type[Kind]) -> None:
    if actor is not None and not getattr(access.policy(actor), kind.ability):
        raise PermissionDenied(access.NOT_ALLOWED)


# ------------------------------------------------------------------ reading a file


def _suggest(kind: type[Kind], header: list[str], saved: dict[str, str]) -> dict[str, str]:
    """For each field, the first of (the saved mapping's header, the label, its synonyms) the file has."""
    present = {clean_header(h): h for h in header if clean_header(h)}
    mapping = {}
    for column in kind.columns:
        for name in (saved.get(column.field, ""), *column.names):
            if name and clean_header(name) in present:
                mapping[column.field] = present[clean_header(name)]
                break
    return mapping


def _find_header(kind: type[Kind], job: ImportJob) -> tuple[int, list[str]]:
    """The line among the first ten that names most of the kind's columns (a title or notes may sit
    above it); failing that, the first line with the most filled cells."""
    known = {clean_header(n) for c in kind.columns for n in c.names}
    best, best_score, fallback, fallback_filled = 0, 0, 0, 0
    first: dict[int, list[str]] = {}
    for line, cells in rows(job):
        if line > 10:
            break
        texts = [str(c) if c is not None else "" for c in cells]
        first[line] = texts
        score = sum(1 for t in texts if clean_header(t) in known)
        filled = sum(1 for t in texts if t.strip())
        if score > best_score:
            best, best_score = line, score
        if filled > fallback_filled:
            fallback, fallback_filled = line, filled
    line = best or fallback
    return line, first.get(line, [])


def _missing(kind: type[Kind], mapping: dict[str, str]) -> list[str]:
    return [c.label for c in kind.columns if c.required and not mapping.get(c.field)]


# ------------------------------------------------------------------ upload, mapping, check


def job_create(
    *,
    actor: User | None,
    kind: str,
    file_name: str,
    content: bytes | None = None,
    path: Path | None = None,
    options: dict[str, Any] | None = None,
) -> ImportJob:
    """Store an uploaded file, find its header and suggest the column mapping. Checking is queued
    by the caller (`tasks.check_job`)."""
    kind_cls = kind_for(kind)
    _require(actor, kind_cls)
    suffix = Path(file_name).suffix.lower()
    if suffix not in ALLOWED:
        raise ValidationError(WRONG_TYPE)
    options = dict(options or {})
    kind_cls(actor=actor, options=options).check_options()
    digest = hashlib.sha256()
    job = ImportJob(kind=kind, file_name=Path(file_name).name[:200], options=options, created_by=actor)
    if content is not None:
        if not content:
            raise ValidationError(EMPTY_FILE)
        digest.update(content)
        job.file.save(f"{kind}{suffix}", ContentFile(content), save=False)
    else:
        assert path is not None
        if path.stat().st_size == 0:
            raise ValidationError(EMPTY_FILE)
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
            handle.seek(0)
            job.file.save(f"{kind}{suffix}", File(handle), save=False)
    job.digest = digest.hexdigest()
    try:
        job.header_line, job.headers = _find_header(kind_cls, job)
    except ValidationError:
        job.file.delete(save=False)
        raise
    saved = SavedMapping.objects.filter(kind=kind).values_list("mapping", flat=True).first() or {}
    job.mapping = _suggest(kind_cls, job.headers, saved)
    if not job.header_line:
        job.message = NO_HEADER
    elif _missing(kind_cls, job.mapping):
        job.message = MISSING_COLUMNS.format(columns="、".join(_missing(kind_cls, job.mapping)))
    same = (
        ImportJob.objects.filter(kind=kind, digest=job.digest, status=JobStatus.DONE, options=options)
        .exclude(confirmed_at=None)
        .order_by("-pk")
        .first()
    )
    if same is not None and not job.message:
        # The same bytes were imported already: nothing in them can change the registry, so the
        # report of that import stands and the file is not read again (a recheck is one click away).
        job.message = SAME_FILE.format(pk=same.pk, when=f"{same.finished_at:%Y-%m-%d %H:%M}")
        job.status = JobStatus.DONE
        job.progress = 100
        job.total_lines, job.blank_lines = same.total_lines, same.blank_lines
        job.error_count, job.errors, job.flags = same.error_count, same.errors, same.flags
        job.counts = {NEW: 0, CHANGED: 0, UNCHANGED: sum(same.counts.values())}
        job.finished_at = timezone.now()
    with transaction.atomic():
        job.save()
        audit.record(
            actor=actor,
            action=AuditAction.IMPORT,
            obj=job,
            summary=f"上传{kind_cls.label}文件 {job.file_name}",
        )
    return job


def needs_check(job: ImportJob) -> bool:
    """Whether the line-by-line check of a job just created or remapped is to run."""
    return job.status == JobStatus.UPLOADED and not job.message


def _queue_check(job: ImportJob) -> ImportJob:
    # The task module imports this one: imported here, when work is queued.
    from kangfu.golive.tasks import check_job

    if needs_check(job):
        check_job.enqueue(job.pk)
        job.refresh_from_db()
    return job


def job_upload(*, actor: User | None, kind: str, upload, options: dict[str, Any] | None = None) -> ImportJob:
    """A file uploaded through a page or the API: stored (streamed from disk where Django spooled a
    large one) and its check queued, as `job_create` and then `tasks.check_job`. A command checks
    in its own process instead."""
    if hasattr(upload, "temporary_file_path"):
        path = Path(upload.temporary_file_path())
        job = job_create(actor=actor, kind=kind, file_name=upload.name, path=path, options=options)
    else:
        job = job_create(
            actor=actor, kind=kind, file_name=upload.name, content=upload.read(), options=options
        )
    return _queue_check(job)


def job_recheck(*, actor: User | None, job: ImportJob, queue: bool = False) -> ImportJob:
    """Read a file again line by line although the same file was imported before (the registry may
    have been edited since); with `queue`, the check is queued (pages, API), else the caller runs it."""
    _require(actor, kind_for(job.kind))
    moved = ImportJob.objects.filter(pk=job.pk, status=JobStatus.DONE, confirmed_at=None).update(
        status=JobStatus.UPLOADED, message="", counts={}, errors=[], flags=[], error_count=0, progress=0
    )
    if moved != 1:
        raise ValidationError(NOT_SAME_FILE)
    job.refresh_from_db()
    return _queue_check(job) if queue else job


def job_remap(
    *,
    actor: User | None,
    job: ImportJob,
    mapping: dict[str, str],
    header_line: int | None = None,
    queue: bool = False,
) -> ImportJob:
    """Set which header each field is read from (and where the header is); the check runs again
    (queued with `queue`, else run by the caller)."""
    kind_cls = kind_for(job.kind)
    _require(actor, kind_cls)
    if job.status not in (JobStatus.UPLOADED, JobStatus.PREVIEW, JobStatus.FAILED):
        raise ValidationError(NOT_OPEN)
    if header_line and header_line != job.header_line:
        for line, cells in rows(job):
            if line == header_line:
                job.header_line, job.headers = line, [str(c) if c is not None else "" for c in cells]
                break
    known = {clean_header(h) for h in job.headers}
    fields = {c.field for c in kind_cls.columns}
    clean = {}
    for field, header in mapping.items():
        if field not in fields or not header:
            continue
        if clean_header(header) not in known:
            raise ValidationError(BAD_MAPPING.format(header=header))
        clean[field] = header
    missing = _missing(kind_cls, clean)
    job.mapping = clean
    job.message = MISSING_COLUMNS.format(columns="、".join(missing)) if missing else ""
    job.status = JobStatus.UPLOADED
    job.save(update_fields=["mapping", "message", "status", "header_line", "headers"])
    return _queue_check(job) if queue else job


def _progress_path(job: ImportJob) -> Path:
    return Path(job.file.path).with_suffix(".progress")


def _errors_path(job: ImportJob) -> Path:
    return Path(job.file.path).with_suffix(".errors.csv")


def job_progress(job: ImportJob) -> int:
    """The applying step commits nothing until its end, so its progress is kept in a file beside
    the upload, which any process can read."""
    if job.status == JobStatus.APPLYING:
        try:
            return int(_progress_path(job).read_text() or 0)
        except (OSError, ValueError):
            return 0
    return job.progress


def _count_lines(job: ImportJob) -> int:
    try:
        if job.file_name.lower().endswith((".csv", ".txt")):
            with open(job.file.path, "rb") as handle:
                return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) or 1
    except OSError:
        pass
    return 0


def _cleaned_path(job: ImportJob) -> Path:
    return Path(job.file.path).with_suffix(".cleaned")


def _stamp(job: ImportJob, kind: Kind) -> dict[str, Any]:
    """What the cleaning of a line depends on: the check's cleaned lines serve the import only if
    none of it changed in between (the blind-index key included: lines carry their indexes)."""
    return {
        "index": index_stamp(),
        "job": job.pk,
        "kind": job.kind,
        "mapping": job.mapping,
        "options": job.options,
        "header_line": job.header_line,
        "headers": job.headers,
        "today": kind.today.isoformat(),
    }


def _walk(job: ImportJob, kind: Kind, *, apply: bool, report) -> dict[str, Any]:
    """Stream the file once: clean every line, check (and apply) the records chunk by chunk. The
    check keeps what it cleaned; the confirmed import reads that instead of the file when it can."""
    total_lines = _count_lines(job)
    totals: Counter[str] = Counter()
    seen: dict[Any, int] = {}
    chunk: list[Record] = []
    errors: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    state = {"total": 0, "errors": 0}
    counted: Counter[str] = Counter()
    writer: cleaned.Writer | None = None
    kept = cleaned.read(_cleaned_path(job), _stamp(job, kind)) if apply else None
    if kept is not None:
        lines, summary = kept
        counted["blank"] = summary["blank"]
    else:
        if not apply:
            writer = cleaned.Writer(_cleaned_path(job), _stamp(job, kind))
        lines = clean_lines(job, kind, counted, writer)

    def refuse(line: int, message: str) -> None:
        state["errors"] += 1
        if len(errors) < ERRORS_KEPT:
            errors.append({"line": line, "message": message})
        report.writerow([line, message])

    def flush() -> None:
        if not chunk:
            return
        kind.check(chunk)
        good = [r for r in chunk if not r.error]
        if apply and good:
            kind.apply(good)
        for record in chunk:
            if record.error:
                refuse(record.line, record.error)
            else:
                totals[record.change] += 1
                for flag in record.flags:
                    if len(flags) < ERRORS_KEPT:
                        flags.append({"line": record.line, "message": flag})
        chunk.clear()

    try:
        for line, values, problem in lines:
            state["total"] += 1
            if values is None:
                refuse(line, problem)
                continue
            record = Record(line=line, values=values)
            key = kind.key(record)
            if key is not None:
                if key in seen:
                    record.error = DUPLICATE_LINE.format(line=seen[key])
                else:
                    seen[key] = line
            chunk.append(record)
            if len(chunk) >= kind.chunk_size:
                flush()
                if total_lines:
                    _report_progress(job, min(99, line * 100 // total_lines), apply=apply)
        flush()
    except BaseException:
        if writer is not None:
            writer.abandon()
        raise
    finally:
        lines.close()  # a cleaning process still running is stopped now, not when collected
    if writer is not None:
        writer.close({"blank": counted["blank"]})
    errors.sort(key=lambda e: e["line"])
    return {
        "total": state["total"],
        "blank": counted["blank"],
        "error_count": state["errors"],
        "errors": errors,
        "flags": flags,
        "counts": {k: totals.get(k, 0) for k in (NEW, CHANGED, UNCHANGED)},
    }


def _refresh_statistics(kind: type[Kind]) -> None:
    """The statistics of the tables a kind's lookups read: an import follows another (people, then
    recipients) faster than autovacuum's next round (core.dbstats)."""
    if kind.reads:
        refresh_statistics(model._meta.db_table for model in kind.reads)


def _report_progress(job: ImportJob, percent: int, *, apply: bool) -> None:
    if apply:
        _progress_path(job).write_text(str(percent))
    else:
        ImportJob.objects.filter(pk=job.pk).update(progress=percent)


def _save_report(job: ImportJob, result: dict[str, Any]) -> None:
    job.total_lines = result["total"]
    job.blank_lines = result["blank"]
    job.error_count = result["error_count"]
    job.errors = result["errors"]
    job.flags = result["flags"]
    job.counts = result["counts"]


def job_check(job: ImportJob) -> ImportJob:
    """Read the whole file into a report (the background task's work). Nothing is stored but the
    report: the records are checked against the database as it is now."""
    kind_cls = kind_for(job.kind)
    if _missing(kind_cls, job.mapping) or not job.header_line:
        return job
    if (
        ImportJob.objects.filter(pk=job.pk, status=JobStatus.UPLOADED).update(
            status=JobStatus.CHECKING, progress=0
        )
        != 1
    ):
        return job
    kind = kind_cls(actor=job.created_by, options=job.options)
    _refresh_statistics(kind_cls)
    try:
        with open(_errors_path(job), "w", encoding="utf-8-sig", newline="") as handle:
            report = csv.writer(handle)
            report.writerow(["行号", "问题"])
            # No transaction: checking only reads, and on SQLite a transaction would hold the
            # write lock for the whole file.
            result = _walk(job, kind, apply=False, report=report)
    except ValidationError as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, message="；".join(exc.messages)[:300]
        )
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    _save_report(job, result)
    job.status = JobStatus.PREVIEW
    job.progress = 100
    if not any(result["counts"].values()) and not job.message:
        job.message = NOTHING_VALID
    job.save()
    return job


# ------------------------------------------------------------------ confirm, apply, discard


def job_confirm(*, actor: User | None, job: ImportJob, queue: bool = False) -> ImportJob:
    """Accept the report: the valid lines are imported (by `tasks.apply_job`, queued with `queue`,
    else `job_apply` run by the caller), the others stay in the report. A job whose import was
    killed can be confirmed again."""
    kind_cls = kind_for(job.kind)
    _require(actor, kind_cls)
    if not any(job.counts.get(k) for k in (NEW, CHANGED)) and not job.counts.get(UNCHANGED):
        raise ValidationError(NOTHING_VALID)
    with transaction.atomic():
        moved = (
            ImportJob.objects.filter(pk=job.pk, status__in=[JobStatus.PREVIEW, JobStatus.FAILED])
            .filter(header_line__gt=0)
            .update(status=JobStatus.APPLYING, confirmed_by=actor, confirmed_at=timezone.now())
        )
        if moved != 1:
            raise ValidationError(NOT_PREVIEW)
        SavedMapping.objects.update_or_create(
            kind=job.kind, defaults={"mapping": job.mapping, "saved_by": actor, "saved_at": timezone.now()}
        )
        audit.record(
            actor=actor, action=AuditAction.IMPORT, obj=job, summary=f"确认{kind_cls.label}导入 {job}"
        )
    job.refresh_from_db()
    if queue:
        from kangfu.golive.tasks import apply_job

        apply_job.enqueue(job.pk)
        job.refresh_from_db()
    return job


def job_apply(job: ImportJob) -> ImportJob:
    """Import the confirmed file in one transaction (the background task's work)."""
    kind_cls = kind_for(job.kind)
    if job.status != JobStatus.APPLYING:
        return job
    actor = job.confirmed_by or job.created_by
    kind = kind_cls(actor=actor, options=job.options)
    _refresh_statistics(kind_cls)
    _progress_path(job).write_text("0")
    try:
        kind.prepare()
        with open(_errors_path(job), "w", encoding="utf-8-sig", newline="") as handle:
            report = csv.writer(handle)
            report.writerow(["行号", "问题"])
            with transaction.atomic():
                result = _walk(job, kind, apply=True, report=report)
                kind.finish()
                _save_report(job, result)
                job.status = JobStatus.DONE
                job.progress = 100
                job.finished_at = timezone.now()
                job.message = ""
                job.save()
                audit.record(
                    actor=actor,
                    action=AuditAction.IMPORT,
                    obj=job,
                    summary=f"{kind_cls.label}导入完成："
                    + "，".join(f"{COUNT_LABELS[k]} {v}" for k, v in job.counts.items())
                    + f"，问题行 {job.error_count}",
                )
    except ValidationError as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, message="；".join(exc.messages)[:300]
        )
    except DatabaseError:
        # Someone changed the same records while this import was writing (or the database went away):
        # the transaction rolled back whole, and the job can be confirmed again.
        ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, message=INTERRUPTED)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(_progress_path(job))
    job.refresh_from_db()
    if job.status == JobStatus.DONE:
        cleaned.remove(_cleaned_path(job))
    return job


def job_discard(*, actor: User | None, job: ImportJob) -> ImportJob:
    _require(actor, kind_for(job.kind))
    with transaction.atomic():
        moved = ImportJob.objects.filter(
            pk=job.pk, status__in=[JobStatus.UPLOADED, JobStatus.PREVIEW, JobStatus.FAILED]
        ).update(status=JobStatus.DISCARDED)
        if moved != 1:
            raise ValidationError(NOT_OPEN)
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=job, summary=f"放弃导入 {job}")
    job.refresh_from_db()
    cleaned.remove(_cleaned_path(job))
    return job


def job_error_report(job: ImportJob) -> bytes:
    try:
        return _errors_path(job).read_bytes()
    except OSError:
        return "行号,问题\n".encode("utf-8-sig")


def job_summary(job: ImportJob) -> dict[str, Any]:
    """What the page, the command and the API tell about a job."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "file_name": job.file_name,
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": job_progress(job),
        "message": job.message,
        "total_lines": job.total_lines,
        "blank_lines": job.blank_lines,
        "counts": job.counts,
        "error_count": job.error_count,
        "errors": job.errors[:200],
        "flags": job.flags[:200],
        "mapping": job.mapping,
    }


def dumps(job: ImportJob) -> str:
    return json.dumps(job_summary(job), ensure_ascii=False, indent=2)
