"""The outbox: what happened, for other systems.

A service calls `record` inside its own transaction, next to its audit row, so an event exists if and
only if its change committed; a batch (a district's grants moving at a payroll lock, an import) calls
`record_many`, which writes every row in one statement. Kinds are `<app>.<thing>.<what happened>`,
listed in `KINDS`, and the payload carries only what a receiver needs to act: keys of records (which
the API answers with what the receiver's token may see), months, statuses, never an ID number, a name
or a phone.

**Why a `position` and not the id as the cursor.** Ids are drawn when a row is inserted, but the rows
become visible when their transaction commits, and transactions commit out of order: a payroll that
drew id 10 may commit a minute after a grant change that drew id 11. A reader that has seen 11 and
moved its cursor past it would never see 10. A time lag does not mend it (a long transaction outlasts
any lag). So a row is given its `position` after it has committed, by `sequence`, one sequencer at a
time (an advisory lock on PostgreSQL; SQLite has one writer anyway): every row it numbers is already
visible, and every row that commits later gets a higher number. Readers page by `position` and see
only numbered rows, so a cursor never skips an event, and never repeats one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from kangfu.core import bulk
from kangfu.core.models import LEVEL_DIGITS, OutboxEvent, Region, RegionLevel, Role, User

KINDS = {
    "subsidies.grant.started": "补贴开始发放",
    "subsidies.grant.changed": "补贴变更",
    "subsidies.grant.stopped": "补贴停发",
    "subsidies.application.decided": "补贴申请审批",
    "rehab.case.enrolled": "精康登记建档",
    "rehab.case.discharged": "精康结案",
    "devices.rental.started": "辅具租赁交付",
    "devices.rental.returned": "辅具租赁归还",
    "matching.item.confirmed": "比对疑点确认",
    "matching.item.approved": "比对疑点审批",
}

# One lock number for the sequencer (PostgreSQL advisory locks are keyed by a bigint).
_SEQUENCER_LOCK = 0x6B616E67_6675  # "kangfu"

NOT_A_READER = "只有市、区民政管理员的账号可以读取业务事件。"


def _subject(subject: Model | tuple[str, Any]) -> tuple[str, str]:
    if isinstance(subject, tuple):
        return subject[0], str(subject[1])
    return subject._meta.label_lower, str(subject.pk)


def _plain(payload: Mapping[str, Any]) -> dict[str, Any]:
    """JSON values: dates as ISO text, anything else not JSON-native as text."""
    out: dict[str, Any] = {}
    for name, value in payload.items():
        if value is None or isinstance(value, bool | int | float | str):
            out[name] = value
        elif hasattr(value, "isoformat"):
            out[name] = value.isoformat()
        else:
            out[name] = str(value)
    return out


def record(
    *,
    kind: str,
    subject: Model | tuple[str, Any],
    district: str | None,
    payload: Mapping[str, Any] | None = None,
) -> OutboxEvent:
    """One event, in the caller's transaction: rolled back with the change, committed with it.
    `subject` is the record (or `(type, key)`), `district` the 12-digit code the event is scoped by."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    subject_type, subject_id = _subject(subject)
    return OutboxEvent.objects.create(
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        district_id=district or None,
        payload=_plain(payload or {}),
    )


@dataclass(frozen=True)
class Event:
    """One row of `record_many`: what `record` takes, without the kind."""

    subject: Model | tuple[str, Any]
    district: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)


def record_many(*, kind: str, events: Iterable[Event]) -> int:
    """Many events of one kind in one statement (COPY on PostgreSQL), for batch work that must not
    write a row at a time; returns how many."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    now = timezone.now()
    rows = []
    for event in events:
        subject_type, subject_id = _subject(event.subject)
        rows.append(
            {
                "key": uuid.uuid4(),
                "kind": kind,
                "occurred_at": now,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "district_id": event.district or None,
                "payload": _plain(event.payload),
            }
        )
    # Drawn here: bulk.insert takes a field's default once for the whole batch.
    bulk.insert(OutboxEvent, rows)
    return len(rows)


def sequence() -> int:
    """Give every committed event without a position the next positions, in id order; return how many.
    Safe to call from anywhere at any time (a reader, the delivery pass): one runs at a time."""
    table = connection.ops.quote_name(OutboxEvent._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Taken in its own statement, so the UPDATE below reads a snapshot in which the
            # previous sequencer's numbers are committed.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEQUENCER_LOCK])
        cursor.execute(
            f"UPDATE {table} SET position = n.base + n.rn"  # noqa: S608
            f" FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn,"
            f" (SELECT COALESCE(MAX(position), 0) FROM {table}) AS base"
            f" FROM {table} WHERE position IS NULL) AS n"
            f" WHERE {table}.id = n.id"
        )
        return cursor.rowcount


def last_position() -> int:
    """The highest position given so far (0 for an empty outbox)."""
    last = (
        OutboxEvent.objects.filter(position__isnull=False)
        .order_by("-position")
        .values_list("position", flat=True)
    )
    return last.first() or 0


# --- reading ------------------------------------------------------------------------------------


def may_read(user: User) -> bool:
    """Events are for the systems of the civil-affairs offices: a city's or a district's account."""
    region = user.jurisdiction if user.is_authenticated and user.is_active else None
    return (
        region is not None
        and user.role in (Role.CITY_ADMIN, Role.DISTRICT_ADMIN)
        and region.level in (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.DISTRICT)
    )


def district_scope_q(user: User, *, field: str = "district") -> Q:
    """Rows placed by a district column, within the user's jurisdiction: equality for a district,
    a range of codes for a city (as `core.access.district_q`). Nobody else: nothing."""
    if not may_read(user):
        return Q(pk__in=[])
    region: Region = user.jurisdiction
    if region.level == RegionLevel.DISTRICT:
        return Q(**{f"{field}_id": region.code})
    digits = LEVEL_DIGITS[RegionLevel(region.level)]
    prefix = region.code[:digits]
    upper = str(int(prefix) + 1).zfill(digits)
    return Q(**{f"{field}_id__gte": prefix.ljust(12, "0"), f"{field}_id__lt": upper.ljust(12, "0")})


def events_for(
    user: User, *, after: int = 0, kinds: Iterable[str] = (), limit: int = 100
) -> QuerySet[OutboxEvent]:
    """The user's events after a cursor, in position order: only numbered ones (see the module's
    docstring), so a page never holds a row that an earlier, uncommitted one would precede."""
    rows = OutboxEvent.objects.filter(district_scope_q(user), position__gt=after)
    kinds = [k for k in kinds if k]
    if kinds:
        rows = rows.filter(kind__in=kinds)
    return rows.order_by("position")[:limit]
