"""A file's lines, cleaned, on the machine's second core where it has one.

Cleaning a line (reading its cells, IDs, dates, codes, names, blind indexes) is pure Python and most
of a check's work; checking the cleaned records against the database in chunks is the rest. Done in
turn, a check of a million lines takes their sum. Here a forked process reads and cleans the file
while this one checks what it has already received, so the check takes about the longer of the two
(at 100,000 people on PostgreSQL, 5.4 s against 8.0 s in one process; the cleaning process then
takes 3.4 CPU seconds, the checking one 3.7).

The child shares the parent's database connections (a fork copies their sockets), so it must never
query: a statement from it would interleave with the parent's on the same socket. Only kinds whose
cleaning reads nothing but what their constructor loaded are cleaned apart (`Kind.clean_apart`); in
the child every connection refuses to execute, and the child leaves with `os._exit`, which runs no
clean-up that could speak to the server. Batches come back pickled through a pipe, which a thread of
this process drains into a bounded queue (a pipe holds 64 KB: without the thread the two processes
took turns, and the check gained nothing); they go into the kept copy of the cleaned lines
(`cleaned`) as they came, not pickled a second time.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections

from kangfu.core.spreadsheets import clean_header, iter_file_rows
from kangfu.golive.kinds import Kind
from kangfu.golive.models import ImportJob
from kangfu.golive.services import cleaned

BATCH = 500
AHEAD = 64  # batches the child may clean ahead of the check (about 13 MB of a people file)
CHILD_FAILED = "读取文件的进程意外中止，没有导入任何数据；请重新检查。"

_HEAD = struct.Struct(">cQ")
_CLEANED, _END, _FAILED = b"L", b"E", b"X"


def rows(job: ImportJob) -> Iterator[tuple[int, list[Any]]]:
    return iter_file_rows(Path(job.file.path), job.file_name)


def _raw_lines(job: ImportJob, counted: Counter[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every non-blank line after the header, as (line number, cells by field)."""
    columns = {clean_header(h): i for i, h in enumerate(job.headers)}
    index = {field: columns[clean_header(header)] for field, header in job.mapping.items()}
    for line, cells in rows(job):
        if line <= job.header_line:
            continue
        if not any(c not in (None, "") for c in cells):
            counted["blank"] += 1
            continue
        yield line, {f: cells[i] if i < len(cells) else None for f, i in index.items()}


def _clean(kind: Kind, batch: list[tuple[int, dict[str, Any]]]) -> list[cleaned.Line]:
    out: list[cleaned.Line] = []
    for line, values in batch:
        try:
            out.append((line, kind.clean(values), ""))
        except ValueError as exc:
            out.append((line, None, str(exc)))
    return out


def _batches(job: ImportJob, counted: Counter[str]) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    batch: list[tuple[int, dict[str, Any]]] = []
    for item in _raw_lines(job, counted):
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def clean_lines(
    job: ImportJob, kind: Kind, counted: Counter[str], writer: cleaned.Writer | None = None
) -> Iterator[cleaned.Line]:
    """Every non-blank line after the header, cleaned (or refused with its problem), in order; each
    batch kept by `writer` (if any) before it is handed on, as the check may add to its values."""
    if kind.clean_apart and hasattr(os, "fork") and (os.cpu_count() or 1) > 1:
        yield from _forked(job, kind, counted, writer)
        return
    for batch in _batches(job, counted):
        lines = _clean(kind, batch)
        if writer is not None:
            writer.write(lines)
        yield from lines


# ------------------------------------------------------------------ the cleaning process


def _refuse_queries(execute, sql, params, many, context):
    raise RuntimeError("the import's cleaning process must not query the database")


def _send(out, tag: bytes, data: bytes) -> None:
    out.write(_HEAD.pack(tag, len(data)))
    out.write(data)


def _child(job: ImportJob, kind: Kind, out) -> None:
    # A task worker's handler would only ask the (copied) worker loop to stop: a service manager
    # stopping the worker stops this process too, and the check fails with CHILD_FAILED.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for alias in connections:
        connections[alias].execute_wrappers.append(_refuse_queries)
    counted: Counter[str] = Counter()
    for batch in _batches(job, counted):
        _send(out, _CLEANED, pickle.dumps(_clean(kind, batch), protocol=pickle.HIGHEST_PROTOCOL))
    _send(out, _END, pickle.dumps(counted["blank"]))


def _run_child(job: ImportJob, kind: Kind, write_end: int) -> None:
    status = 1
    try:
        with os.fdopen(write_end, "wb", buffering=1 << 20) as out:
            try:
                _child(job, kind, out)
                status = 0
            except BrokenPipeError:
                pass  # the parent stopped reading (it failed, or was killed)
            except BaseException as exc:  # handed to the parent, which raises it
                try:
                    data = pickle.dumps(exc)
                except Exception:
                    data = pickle.dumps(ValidationError(CHILD_FAILED))
                with contextlib.suppress(BrokenPipeError):
                    _send(out, _FAILED, data)
    finally:
        os._exit(status)


def _read_exact(fd: int, size: int) -> bytes:
    parts, wanted = [], size
    while wanted:
        part = os.read(fd, min(wanted, 1 << 20))
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def _read_frame(fd: int) -> tuple[bytes, bytes] | None:
    """The next (tag, data) the child sent; None if the pipe ended before a whole frame."""
    head = _read_exact(fd, _HEAD.size)
    if len(head) < _HEAD.size:
        return None
    tag, size = _HEAD.unpack(head)
    data = _read_exact(fd, size)
    return (tag, data) if len(data) == size else None


def _drain(fd: int, frames: queue.Queue, stop: threading.Event) -> None:
    """Read the child's frames as they come, so that it never waits for this process to finish
    checking a chunk: a pipe holds 64 KB, a chunk's lines a megabyte. The queue bounds how far ahead
    it may run."""
    while not stop.is_set():
        frame = _read_frame(fd) or (_FAILED, pickle.dumps(ValidationError(CHILD_FAILED)))
        while not stop.is_set():
            try:
                frames.put(frame, timeout=0.1)
                break
            except queue.Full:
                continue
        if frame[0] in (_END, _FAILED):
            return


def _forked(
    job: ImportJob, kind: Kind, counted: Counter[str], writer: cleaned.Writer | None
) -> Iterator[cleaned.Line]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_end)
        _run_child(job, kind, write_end)
    os.close(write_end)
    frames: queue.Queue[tuple[bytes, bytes]] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()
    reader = threading.Thread(target=_drain, args=(read_end, frames, stop), daemon=True)
    reader.start()
    finished = False
    try:
        while True:
            tag, data = frames.get()
            if tag == _CLEANED:
                if writer is not None:
                    writer.write_pickled(data)
                yield from pickle.loads(data)  # noqa: S301 - from this process's own child
            elif tag == _END:
                counted["blank"] += pickle.loads(data)  # noqa: S301 - from this process's own child
                finished = True
                return
            else:
                raise pickle.loads(data)  # noqa: S301 - from this process's own child
    finally:
        stop.set()
        if not finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        reader.join()
        os.close(read_end)
