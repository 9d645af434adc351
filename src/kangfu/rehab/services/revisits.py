"""回访 after a case is closed: the schedule that follows from the closure, and recording a contact."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kangfu.core import audit
from kangfu.core.models import AuditAction, User
from kangfu.core.transitions import Conflict
from kangfu.rehab.models import (
    NO_REVISIT_REASONS,
    REVISIT_MONTHS,
    Case,
    CaseStatus,
    Revisit,
    RevisitOutcome,
    RevisitRound,
    RevisitWay,
    revisit_due_dates,
)
from kangfu.rehab.services.common import _not_future, require_own_case

NOT_CLOSED = "该档案尚未结案，结案后才需要回访。"
NO_REVISIT = "结案原因为“{reason}”，不需要回访。"
ALL_DONE = "三次回访都已记录。"
ROUND_DONE = "{round}的回访已经记录（可能已被他人登记），不能重复登记。"
BEFORE_CLOSE = "回访日期不能早于结案日期 {day}。"
UNREACHABLE_FLAGS = "未联系上时无法判断是否复发或再次住院，请不要勾选。"


def revisit_owed(case: Case) -> bool:
    """Whether the closure of `case` owes 回访 at all."""
    return (
        case.status == CaseStatus.DISCHARGED
        and case.discharged_on is not None
        and case.discharge_reason not in NO_REVISIT_REASONS
    )


@dataclass
class RevisitData:
    done_on: dt.date
    way: str
    outcome: str
    relapsed: bool = False
    readmitted: bool = False
    note: str = ""
    round: int | None = None  # None: the earliest round not yet recorded


def revisit_record(*, actor: User, case: Case, data: RevisitData) -> Revisit:
    require_own_case(actor, case)
    if case.status != CaseStatus.DISCHARGED or case.discharged_on is None:
        raise ValidationError(NOT_CLOSED)
    if not revisit_owed(case):
        raise ValidationError(NO_REVISIT.format(reason=case.get_discharge_reason_display()))
    _not_future(data.done_on, "done_on")
    if data.done_on < case.discharged_on:
        raise ValidationError({"done_on": BEFORE_CLOSE.format(day=case.discharged_on)})
    if data.way not in RevisitWay.values:
        raise ValidationError({"way": "请选择回访方式。"})
    if data.outcome not in RevisitOutcome.values:
        raise ValidationError({"outcome": "请选择回访结果。"})
    if data.outcome == RevisitOutcome.UNREACHABLE and (data.relapsed or data.readmitted):
        raise ValidationError({"outcome": UNREACHABLE_FLAGS})
    due = revisit_due_dates(case.discharged_on)
    done = set(Revisit.objects.filter(case=case).values_list("round", flat=True))
    round_ = data.round
    if round_ is None:
        open_rounds = [r for r in REVISIT_MONTHS if r not in done]
        if not open_rounds:
            raise ValidationError(ALL_DONE)
        round_ = open_rounds[0]
    if round_ not in due:
        raise ValidationError({"round": "请选择回访轮次。"})
    label = RevisitRound(round_).label
    if round_ in done:
        raise Conflict(ROUND_DONE.format(round=label), code="stale")
    try:
        with transaction.atomic():
            revisit = Revisit.objects.create(
                case=case,
                district_id=case.district_id,
                round=round_,
                due_on=due[round_],
                done_on=data.done_on,
                way=data.way,
                outcome=data.outcome,
                relapsed=data.relapsed,
                readmitted=data.readmitted,
                note=data.note[:500],
                by=actor,
            )
            flags = "，复发" * data.relapsed + "，再次住院" * data.readmitted
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=revisit,
                person_id=case.person_id,
                summary=f"{label}回访：{revisit.get_outcome_display()}{flags}",
            )
    except IntegrityError:
        # Another submit recorded this round between the check above and the insert.
        raise Conflict(ROUND_DONE.format(round=label), code="stale") from None
    return revisit
