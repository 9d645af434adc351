"""Follow-ups (随访) and the rules that set the next one by stability, risk and insight."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from kangfu.core import audit
from kangfu.core.models import AuditAction, User
from kangfu.rehab.models import SERVED_STATES, Assessment, Case, FollowUp, Insight, Stability
from kangfu.rehab.services.common import BEFORE_ENROLMENT, NOT_SERVED, _not_future, require_own_case
from kangfu.rehab.services.counters import _case_count, served

NEXT_TOO_LATE = "按随访规定，病情{stability}时下次随访不得晚于 {latest}。"
NEXT_NOT_AFTER = "下次随访日期应晚于本次随访日期。"


def _latest_risk(case: Case, *, after: dt.date | None = None) -> Assessment | None:
    """The latest risk assessment still standing (not amended), optionally only one dated after `after`:
    it sets the case's risk level and with it the follow-up rhythm, so follow-ups and assessments both
    read it."""
    standing = Assessment.objects.filter(case=case, scale__code="risk", amended_by__isnull=True)
    if after is not None:
        standing = standing.filter(assessed_on__gt=after)
    return standing.order_by("-assessed_on", "-id").first()


def follow_up_interval(stability: str) -> int:
    """Days until the next follow-up at the latest (国家基本公共卫生服务规范): two weeks while unstable
    or basically stable, three months when stable; never less than four a year."""
    return 14 if stability in (Stability.UNSTABLE, Stability.BASIC) else 91


def stability_for(stability: str, risk_level: int, insight: str = "") -> str:
    """The risk level and insight set a floor (服务规范): risk 3–5 or no insight is unstable; risk 1–2
    or partial insight is at best basically stable. The worker's judgement can only be stricter."""
    if risk_level >= 3 or insight == Insight.NONE:
        return Stability.UNSTABLE
    if (risk_level >= 1 or insight == Insight.PARTIAL) and stability == Stability.STABLE:
        return Stability.BASIC
    return stability


@dataclass
class FollowUpData:
    done_on: dt.date
    mode: str
    stability: str
    risk_level: int
    adherence: str
    insight: str
    incidents: list[str] = field(default_factory=list)
    note: str = ""
    next_on: dt.date | None = None


def follow_up_record(*, actor: User, case: Case, data: FollowUpData) -> FollowUp:
    require_own_case(actor, case)
    if case.status not in SERVED_STATES:
        raise ValidationError(NOT_SERVED.format(status=case.get_status_display()))
    _not_future(data.done_on, "done_on")
    if case.enrolled_on and data.done_on < case.enrolled_on:
        raise ValidationError({"done_on": BEFORE_ENROLMENT.format(day=case.enrolled_on)})
    if not 0 <= data.risk_level <= 5:
        raise ValidationError({"risk_level": "危险性等级为 0–5 级。"})
    stability = stability_for(data.stability, data.risk_level, data.insight)
    latest = data.done_on + dt.timedelta(days=follow_up_interval(stability))
    next_on = data.next_on or latest
    if next_on <= data.done_on:
        raise ValidationError({"next_on": NEXT_NOT_AFTER})
    if next_on > latest:
        raise ValidationError(
            {"next_on": NEXT_TOO_LATE.format(stability=Stability(stability).label, latest=latest.isoformat())}
        )
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        follow_up = FollowUp.objects.create(
            case=locked,
            district_id=locked.district_id,
            due_on=locked.next_follow_up_on,
            done_on=data.done_on,
            mode=data.mode,
            stability=stability,
            risk_level=data.risk_level,
            adherence=data.adherence,
            insight=data.insight,
            incidents=list(data.incidents),
            note=data.note,
            next_on=next_on,
            by=actor,
        )
        newest = not FollowUp.objects.filter(case=locked, done_on__gt=data.done_on).exists()
        if newest:
            risk, current, due = data.risk_level, stability, next_on
            later = _latest_risk(locked, after=data.done_on)
            if later is not None:
                # A risk assessment made after this follow-up (entered late) is the newer word on risk.
                risk = int(later.total)
                current = stability_for(stability, risk, data.insight)
                if risk >= 3:
                    due = min(
                        due, later.assessed_on + dt.timedelta(days=follow_up_interval(Stability.UNSTABLE))
                    )
            Case.objects.filter(pk=case.pk).update(stability=current, risk_level=risk, next_follow_up_on=due)
        _case_count(locked, data.done_on, "follow_ups")
        served([(locked, data.done_on)])
        if follow_up.due_on and data.done_on > follow_up.due_on:
            _case_count(locked, data.done_on, "follow_ups_late")
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=follow_up,
            person_id=case.person_id,
            summary=f"随访：{Stability(stability).label}，危险性 {data.risk_level} 级，下次 {next_on}",
        )
    return follow_up
