"""Writing the audit trail.

Services call `record` inside their own transaction, so the trail and the change commit or fail
together whether the change came from a page, the API, a command or a task. Where a request is
behind the call, the middleware has put its address, channel and request id in `audit_context`;
every writer below stamps its rows from `_stamp`, the one place that reads it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.utils import timezone

from kangfu.core import bulk
from kangfu.core.models import AuditAction, AuditEntry, User


@dataclass(frozen=True)
class AuditContext:
    ip: str | None = None
    channel: str = "cli"
    request_id: str = ""


_NO_REQUEST = AuditContext()
_context: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit_context", default=None)

HIDDEN = "（已修改，内容不记录）"


@contextlib.contextmanager
def audit_context(*, ip: str | None, channel: str, request_id: str = "") -> Iterator[None]:
    token = _context.set(AuditContext(ip=ip, channel=channel, request_id=request_id))
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> AuditContext:
    return _context.get() or _NO_REQUEST


def _stamp() -> dict[str, Any]:
    """Where the change came from, as the columns every audit row carries."""
    ctx = current_context()
    return {"ip": ctx.ip, "channel": ctx.channel, "request_id": ctx.request_id}


def record(
    *,
    actor: User | None,
    action: AuditAction | str,
    obj: Any = None,
    person_id: int | None = None,
    summary: str = "",
    changes: Mapping[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    actor_username: str = "",
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_username=actor_username or (actor.get_username() if actor is not None else ""),
        action=action,
        object_type=object_type,
        object_id=object_id,
        person_id=person_id,
        summary=summary[:300],
        changes=dict(changes or {}),
        **_stamp(),
    )


def record_many(
    *, actor: User | None, action: AuditAction | str, rows: Iterable[tuple[Any, int | None]], summary: str
) -> None:
    """One entry per (object, person), written in one statement, for a write that touches many people at
    once (a group activity, a batch referral): each person's trail still shows it."""
    common = {
        "at": timezone.now(),
        "actor_id": actor.pk if actor is not None and actor.pk else None,
        "actor_username": actor.get_username() if actor is not None else "",
        "action": action,
        "summary": summary[:300],
        **_stamp(),
    }
    _insert(common, [(obj._meta.label_lower, str(obj.pk), person_id) for obj, person_id in rows])


# What differs between the entries `record_many` writes; every other column is the batch's.
_VARYING = ("object_type", "object_id", "person_id")


@functools.cache
def _statement(alias: str) -> tuple[list, list, str]:
    """The shared fields, every column's field in order and the INSERT that `_insert` sends through
    the connection `alias`: made once per process, as every list page writes its read audit."""
    connection = connections[alias]
    shared = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key and f.attname not in _VARYING]
    apart = [AuditEntry._meta.get_field(name) for name in _VARYING]
    fields = [*shared, *apart]
    head = f"INSERT INTO {connection.ops.quote_name(AuditEntry._meta.db_table)} "
    head += "(" + ", ".join(connection.ops.quote_name(f.column) for f in fields) + ")"
    if connection.vendor != "postgresql":
        return shared, fields, f"{head} VALUES "  # a VALUES row per entry follows
    # The shared values once and the varying ones as three arrays: the statement's text is the same
    # for any number of rows, so it is prepared once per connection, and a page's 20 rows are 12
    # values to send rather than 240 (0.7 -> 0.3 ms of the application's CPU, measured alone, and
    # less of the database's).
    casts = ", ".join(f"%s::{f.db_type(connection)}" for f in shared)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in apart)
    return shared, fields, f"{head} SELECT {casts}, v.* FROM unnest({arrays}) AS v"  # noqa: S608


def _insert(common: dict[str, Any], varying: list[tuple[str, str, int | None]]) -> None:
    """Entries sharing `common`, one per (object type, object id, person), in one INSERT (per batch
    the database takes), the keys left to the database and not read back. A list page writes one entry
    per row it shows on every request, and `bulk_create` compiled each value of each row through the
    ORM and read the keys back: more than the page's own query cost (bench/pages.py)."""
    if not varying:
        return
    alias = router.db_for_write(AuditEntry)
    connection = connections[alias]
    shared, fields, sql = _statement(alias)
    prepared = [
        f.get_db_prep_save(common[f.attname] if f.attname in common else f.get_default(), connection)
        for f in shared
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql, [*prepared, *(list(column) for column in zip(*varying, strict=True))])
            return
        marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
        size = max(connection.ops.bulk_batch_size(fields, varying), 1)
        for start in range(0, len(varying), size):
            batch = varying[start : start + size]
            cursor.execute(
                sql + ", ".join([marks] * len(batch)), [value for row in batch for value in (*prepared, *row)]
            )


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str | float):
        return value
    return str(value)


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any], *, sensitive: Iterable[str] = ()
) -> dict[str, Any]:
    """Fields whose value changed, as {field: [before, after]}; sensitive ones without values."""
    hidden = set(sensitive)
    changed: dict[str, Any] = {}
    for field in after:
        old, new = before.get(field), after[field]
        if old == new:
            continue
        changed[field] = HIDDEN if field in hidden else [_plain(old), _plain(new)]
    return changed


def snapshot(obj: Any, fields: Iterable[str], *, sensitive: Iterable[str] = ()) -> dict[str, Any]:
    """The values of a new record for a 'create' row; sensitive fields show only that they were set."""
    hidden = set(sensitive)
    out: dict[str, Any] = {}
    for field in fields:
        value = getattr(obj, field)
        if field in hidden:
            out[field] = "（已填写）" if value else ""
        else:
            out[field] = _plain(value)
    return out


@dataclass(frozen=True)
class Row:
    """One entry of a batch write (an import): what `record` takes, without the actor."""

    object_type: str
    object_id: str
    person_id: int | None
    summary: str
    changes: Mapping[str, Any] | None = None


def record_reads(
    *, actor: User | None, records: Iterable[Any], person_of: Callable[[Any], int | None], summary: str
) -> None:
    """A list of named people, read (a page of a list, an API page, a worklist): one VIEW entry per
    record shown, in one statement, so each person's trail shows who read them, by list as by record.
    Nothing is written for an empty list."""
    rows = [(record, person_of(record)) for record in records]
    if rows:
        record_many(actor=actor, action=AuditAction.VIEW, rows=rows, summary=summary)


def record_rows(*, actor: User | None, action: AuditAction | str, rows: Iterable[Row]) -> None:
    """Many entries in one statement, each with its own object, person, summary and changes: a batch
    write keeps a change-by-change trail without a query per change."""
    stamp = _stamp()
    actor_id = actor.pk if actor is not None and actor.pk else None
    username = actor.get_username() if actor is not None else ""
    bulk.insert(
        AuditEntry,
        [
            {
                "actor_id": actor_id,
                "actor_username": username,
                "action": action,
                "object_type": row.object_type,
                "object_id": row.object_id,
                "person_id": row.person_id,
                "summary": row.summary[:300],
                "changes": dict(row.changes or {}),
                **stamp,
            }
            for row in rows
        ],
    )
