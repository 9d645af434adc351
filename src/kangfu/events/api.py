"""`/api/v1/events/`: the outbox, read with a cursor by other systems of the city's and the districts'
civil-affairs offices (the token's account: a city or district administrator), scoped to its
jurisdiction. The same events are pushed to webhooks (`events.delivery`).

A client keeps the `next` it was given and asks `?after=<next>`: it sees every event once, in the
order they committed, even when transactions commit out of order (`core.events`, `position`). The
events carry keys and statuses, no personal data, so reading them leaves no audit row per event; the
person behind a key is read, and audited, through the API of the record."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied, ValidationError
from ninja import Field, Query, Router, Schema

from kangfu.core import events

router = Router(tags=["业务事件"])

MAX_LIMIT = 500
MAX_POSITION = 2**63 - 1  # the column's largest value: a larger cursor is a 422, not a database error
UNKNOWN_KIND = "未知的事件类型：{kinds}。"


class SubjectOut(Schema):
    type: str = Field(description="对象类型，如 subsidies.grant")
    id: str = Field(description="对象在本系统 API 中的编号")


class EventOut(Schema):
    id: str = Field(description="事件编号（幂等键，推送时即 X-Kangfu-Event-Id）")
    position: int = Field(description="游标：下次从此之后读取")
    kind: str
    occurred_at: dt.datetime
    district: str | None
    subject: SubjectOut
    payload: dict[str, Any]


class EventPage(Schema):
    items: list[EventOut]
    next: int = Field(description="下次请求的 after 参数（没有新事件时与本次相同）")


def _out(event) -> dict:
    return {
        "id": str(event.key),
        "position": event.position,
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "district": event.district_id,
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "payload": event.payload,
    }


@router.get("/", response=EventPage, summary="按游标读取业务事件")
def event_list(
    request,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION, description="上次读到的 position（首次为 0）")] = 0,
    kind: Annotated[list[str] | None, Query(description="只要这些事件类型，可重复")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"每次条数，1 至 {MAX_LIMIT}")] = 100,
):
    if not events.may_read(request.user):
        raise PermissionDenied(events.NOT_A_READER)
    unknown = [k for k in kind or () if k not in events.KINDS]
    if unknown:
        raise ValidationError({"kind": [UNKNOWN_KIND.format(kinds="、".join(unknown)[:200])]})
    # Numbered now, so that what committed before this request is in this answer.
    events.sequence()
    rows = list(events.events_for(request.user, after=after, kinds=kind or (), limit=limit))
    return {"items": [_out(e) for e in rows], "next": rows[-1].position if rows else after}
