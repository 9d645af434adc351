"""Grants and their effective-dated changes. A change rewrites the grant's periods from its month on
and marks those months for recalculation; the next payroll pays or recovers the difference."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from kangfu.core import audit, events
from kangfu.core.models import AuditAction, Region, RegionLevel, User
from kangfu.core.months import add_months, month_start
from kangfu.core.transitions import advance
from kangfu.people.models import LifeEventKind
from kangfu.subsidies.models import (
    Application,
    ChangeAction,
    Grant,
    GrantChange,
    GrantPeriod,
    GrantStatus,
    Payroll,
    PayrollStatus,
    StopReason,
)
from kangfu.subsidies.services.standards import mark_for_recalculation

NOT_A_MONTH = "生效月份须为某月第一天。"
BEFORE_START = "生效月份不能早于补贴起始月份 {start}。"
ALREADY_STOPPED = "该补贴已停发。"
NOT_SUSPENDED = "该补贴不是暂停状态。"
NOT_ACTIVE = "该补贴不在发放中。"
NOT_STOPPED = "该补贴已不是停发或暂停状态，请刷新后查看。"
BAD_GRADE = "残疾等级应为 1 至 4。"
SAME_DISTRICT = "迁入区与现发放区相同，无须转移。"
NOT_A_STREET = "请选择迁入区的街道。"

# Default stop rules (DOMAIN.md): the month after the event.
STOP_FOR_EVENT = {
    LifeEventKind.DEATH: StopReason.DEATH,
    LifeEventKind.DECLARED_DEATH: StopReason.DECLARED_DEATH,
    LifeEventKind.MISSING: StopReason.MISSING,
    LifeEventKind.IMPRISONMENT: StopReason.PRISON,
    LifeEventKind.MOVE_OUT: StopReason.MOVED,
}


# The outbox's kind for each change of a grant (core.events); the rest are "changed".
GRANT_EVENTS = {ChangeAction.START: "subsidies.grant.started", ChangeAction.STOP: "subsidies.grant.stopped"}


def stop_month_after(event_day: dt.date) -> dt.date:
    """Payment stops the month after death, prison, a move …: the first month not paid."""
    return add_months(month_start(event_day), 1)


def _rewrite_from(grant: Grant, month: dt.date) -> GrantPeriod | None:
    """Drop periods starting at or after `month`, end the one running through it the month before,
    and return that one (the grade in force just before `month`)."""
    GrantPeriod.objects.filter(grant=grant, from_month__gte=month).delete()
    running = (
        GrantPeriod.objects.filter(grant=grant, from_month__lt=month).order_by("-from_month", "-id").first()
    )
    if running is not None and (running.to_month is None or running.to_month >= month):
        running.to_month = add_months(month, -1)
        running.save(update_fields=["to_month"])
    return running


def _set_from(grant: Grant, month: dt.date, **changes) -> None:
    """From `month` on, every period of the grant takes `changes` and keeps the rest of what it says:
    the period running through `month` is split there. A stop, a suspension or a resumption changes
    only whether the months are paid, so a grade a later certificate set is still there when the grant
    is paid again; a new grade changes only the grade, so a suspended month stays unpaid."""
    running = (
        GrantPeriod.objects.filter(grant=grant, from_month__lt=month)
        .filter(Q(to_month__isnull=True) | Q(to_month__gte=month))
        .order_by("-from_month", "-id")
        .first()
    )
    if running is not None:
        GrantPeriod.objects.create(
            grant=grant,
            from_month=month,
            to_month=running.to_month,
            grade=running.grade,
            category=running.category,
            paid=running.paid,
            reason=running.reason,
        )
        running.to_month = add_months(month, -1)
        running.save(update_fields=["to_month"])
    GrantPeriod.objects.filter(grant=grant, from_month__gte=month).update(**changes)


def _change(
    grant: Grant, *, actor: User | None, action: str, month: dt.date, reason: str, stop_reason: str = ""
) -> None:
    GrantChange.objects.create(
        grant=grant, action=action, effective_month=month, reason=reason, stop_reason=stop_reason, actor=actor
    )
    mark_for_recalculation(Grant.objects.filter(pk=grant.pk), month)
    events.record(
        kind=GRANT_EVENTS.get(action, "subsidies.grant.changed"),
        subject=grant,
        district=grant.district_id,
        payload={
            "person": grant.person_id,
            "kind": grant.kind,
            "action": action,
            "effective_month": month,
            "stop_reason": stop_reason,
        },
    )
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=grant,
        person_id=grant.person_id,
        summary=f"{grant}：{ChangeAction(action).label}，自 {month:%Y-%m} 起（{reason}）",
    )


def _check_month(grant: Grant, month: dt.date) -> None:
    if month != month_start(month):
        raise ValidationError({"effective_month": [NOT_A_MONTH]})
    if month < grant.start_month:
        raise ValidationError({"effective_month": [BEFORE_START.format(start=f"{grant.start_month:%Y-%m}")]})


def grant_start(
    *,
    actor: User | None,
    application: Application,
    kind: str,
    start_month: dt.date,
    grade: int,
    category: int,
) -> Grant:
    """Open (or reopen) a person's grant of one kind from a month, at a grade."""
    person = application.person
    grant, created = Grant.objects.get_or_create(
        person=person,
        kind=kind,
        defaults={
            "application": application,
            "district_id": application.district_id,
            "street_id": application.street_id,
            "start_month": start_month,
            "bank_name": application.bank_name,
            "bank_account": application.bank_account,
        },
    )
    if not created:
        Grant.objects.filter(pk=grant.pk).update(
            status=GrantStatus.ACTIVE,
            end_month=None,
            application=application,
            district_id=application.district_id,
            street_id=application.street_id,
            bank_name=application.bank_name,
            start_month=min(grant.start_month, start_month),
        )
        grant.bank_account = application.bank_account
        grant.save(update_fields=["bank_account"])
        grant.refresh_from_db()
        _rewrite_from(grant, start_month)
    GrantPeriod.objects.create(
        grant=grant,
        from_month=start_month,
        grade=grade,
        category=category,
        reason=f"{application.number} 批准",
    )
    _change(
        grant,
        actor=actor,
        action=ChangeAction.START,
        month=start_month,
        reason=f"申请 {application.number} 批准",
    )
    return grant


def grant_stop(
    *, actor: User | None, grant: Grant, from_month: dt.date, stop_reason: str, reason: str = ""
) -> Grant:
    """Stop paying from `from_month` (the first month not owed). Months already paid from then on are
    recovered by the next payroll."""
    _check_month(grant, from_month)
    with transaction.atomic():
        advance(
            Grant.objects.filter(pk=grant.pk),
            expected=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED],
            message=ALREADY_STOPPED,
            status=GrantStatus.STOPPED,
            end_month=add_months(from_month, -1),
        )
        _set_from(grant, from_month, paid=False, reason=reason or StopReason(stop_reason).label)
        _change(
            grant,
            actor=actor,
            action=ChangeAction.STOP,
            month=from_month,
            reason=reason or StopReason(stop_reason).label,
            stop_reason=stop_reason,
        )
    grant.refresh_from_db()
    return grant


def grant_suspend(*, actor: User | None, grant: Grant, from_month: dt.date, reason: str) -> Grant:
    _check_month(grant, from_month)
    with transaction.atomic():
        advance(
            Grant.objects.filter(pk=grant.pk),
            expected=GrantStatus.ACTIVE,
            message=NOT_ACTIVE,
            status=GrantStatus.SUSPENDED,
        )
        _set_from(grant, from_month, paid=False, reason=reason)
        _change(grant, actor=actor, action=ChangeAction.SUSPEND, month=from_month, reason=reason)
    grant.refresh_from_db()
    return grant


def grant_resume(*, actor: User | None, grant: Grant, from_month: dt.date, reason: str) -> Grant:
    _check_month(grant, from_month)
    with transaction.atomic():
        advance(
            Grant.objects.filter(pk=grant.pk),
            expected=GrantStatus.SUSPENDED,
            message=NOT_SUSPENDED,
            status=GrantStatus.ACTIVE,
        )
        _set_from(grant, from_month, paid=True, reason=reason)
        _change(grant, actor=actor, action=ChangeAction.RESUME, month=from_month, reason=reason)
    grant.refresh_from_db()
    return grant


def grant_regrade(
    *,
    actor: User | None,
    grant: Grant,
    from_month: dt.date,
    grade: int,
    category: int | None = None,
    reason: str,
) -> Grant:
    """A new certificate grade applies from its month (back-dated months are recalculated). Without
    a `category`, the grant's latest period's category stays."""
    _check_month(grant, from_month)
    if not 1 <= grade <= 4:
        raise ValidationError({"grade": [BAD_GRADE]})
    if category is None:
        category = GrantPeriod.objects.filter(grant=grant).last().category
    with transaction.atomic():
        # Claimed by a conditional UPDATE (the status stays as it is), not read and then written: a
        # stop committed first is seen and refuses the regrade, and one that comes later waits for it.
        # A suspended grant takes the new grade too (its months stay unpaid): paid again, it pays it.
        advance(
            Grant.objects.filter(pk=grant.pk),
            expected=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED],
            message=NOT_ACTIVE,
            status=F("status"),
        )
        _set_from(grant, from_month, grade=grade, category=category, reason=reason)
        _change(grant, actor=actor, action=ChangeAction.REGRADE, month=from_month, reason=reason)
    grant.refresh_from_db()
    return grant


def grant_reinstate(
    *,
    actor: User | None,
    grant: Grant,
    from_status: str,
    from_month: dt.date,
    grade: int,
    category: int,
    reason: str,
) -> Grant:
    """Pay a stopped or suspended grant again from `from_month` (a stop found wrong on appeal), at the
    grades its periods hold from then on; the months since are recalculated, so the next payroll
    back-pays them in full. `grade` and `category` serve only a grant stopped before stops kept their
    periods, which has none from that month."""
    _check_month(grant, from_month)
    with transaction.atomic():
        advance(
            Grant.objects.filter(pk=grant.pk),
            expected=from_status,
            message=NOT_STOPPED,
            status=GrantStatus.ACTIVE,
            end_month=None,
        )
        _set_from(grant, from_month, paid=True, reason=reason)
        covered = GrantPeriod.objects.filter(grant=grant).filter(
            Q(to_month__isnull=True) | Q(to_month__gte=from_month)
        )
        if not covered.exists():
            GrantPeriod.objects.create(
                grant=grant, from_month=from_month, grade=grade, category=category, reason=reason
            )
        _change(grant, actor=actor, action=ChangeAction.RESUME, month=from_month, reason=reason)
    grant.refresh_from_db()
    return grant


def grant_transfer(
    *, actor: User | None, grant: Grant, street: Region, from_month: dt.date, reason: str
) -> Grant:
    """The household moved to another district of the deployment: from `from_month` the grant is paid
    there, at the grade it has, and nothing stops. It moves at once if the old district has locked the
    month before, else when that payroll is locked (`transfers_due`): the month before is still
    paid by the old district, and the new one recalculates from `from_month` against what was paid,
    so no month is paid twice or not at all."""
    _check_month(grant, from_month)
    if street.level != RegionLevel.STREET:
        raise ValidationError({"street": [NOT_A_STREET]})
    if street.parent_id == grant.district_id:
        raise ValidationError({"street": [SAME_DISTRICT]})
    with transaction.atomic():
        advance(
            Grant.objects.filter(pk=grant.pk),
            expected=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED],
            message=ALREADY_STOPPED,
            moving_street=street,
            moving_from=from_month,
        )
        GrantChange.objects.create(
            grant=grant, action=ChangeAction.TRANSFER, effective_month=from_month, reason=reason, actor=actor
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=grant,
            person_id=grant.person_id,
            summary=f"{grant}：自 {from_month:%Y-%m} 起转由{street.parent.name}{street.name}发放（{reason}）",
        )
        before = add_months(from_month, -1)
        if Payroll.objects.filter(
            district_id=grant.district_id, month=before, status=PayrollStatus.LOCKED
        ).exists():
            transfers_due(actor=actor, district=grant.district_id, month=before)
    grant.refresh_from_db()
    return grant


def transfers_due(*, actor: User | None, district: str, month: dt.date) -> int:
    """Move the district's grants bound elsewhere whose first month there follows `month`, now that
    `month` is settled here: a few rows a month, moved by one UPDATE, recalculated from their month."""
    due = Grant.objects.filter(district_id=district, moving_from__lte=add_months(month, 1))
    moving = list(
        due.values_list("pk", "person_id", "moving_from", "moving_street__parent_id", "moving_street_id")
    )
    if not moving:
        return 0
    due.update(
        district_id=Subquery(
            Region.objects.filter(code=OuterRef("moving_street_id")).values("parent_id")[:1]
        ),
        street_id=F("moving_street_id"),
        recalc_from=Least(Coalesce("recalc_from", "moving_from"), F("moving_from")),
        recalc_marked_at=timezone.now(),
        moving_street=None,
        moving_from=None,
    )
    events.record_many(
        kind="subsidies.grant.changed",
        events=[
            events.Event(
                ("subsidies.grant", pk),
                new_district,
                {"person": person_id, "action": ChangeAction.TRANSFER, "effective_month": start},
            )
            for pk, person_id, start, new_district, _street in moving
        ],
    )
    audit.record_rows(
        actor=actor,
        action=AuditAction.UPDATE,
        rows=[
            audit.Row(
                object_type="subsidies.grant",
                object_id=str(pk),
                person_id=person_id,
                summary=f"补贴资格自 {start:%Y-%m} 起转入 {new_district} 发放",
                changes={"district": [district, new_district], "street": ["", street]},
            )
            for pk, person_id, start, new_district, street in moving
        ],
    )
    return len(moving)


def grant_migrate(
    *,
    actor: User | None,
    person,
    kind: str,
    district: str,
    street: str,
    start_month: dt.date,
    grade: int,
    category: int,
    bank_name: str,
    bank_account: str,
    paid_through: dt.date | None = None,
) -> Grant:
    """Bring over a recipient approved in the system used before (a one-time data migration).
    Months up to `paid_through` were paid there; the first payroll here starts the month after."""
    with transaction.atomic():
        grant = Grant.objects.create(
            person=person,
            kind=kind,
            district_id=district,
            street_id=street,
            start_month=start_month,
            bank_name=bank_name,
            bank_account=bank_account,
            recalc_from=add_months(paid_through, 1) if paid_through else start_month,
            recalc_marked_at=timezone.now(),
        )
        GrantPeriod.objects.create(
            grant=grant, from_month=start_month, grade=grade, category=category, reason="历史数据迁移"
        )
        GrantChange.objects.create(
            grant=grant,
            action=ChangeAction.START,
            effective_month=start_month,
            reason="历史数据迁移",
            actor=actor,
        )
        audit.record(
            actor=actor,
            action=AuditAction.IMPORT,
            obj=grant,
            person_id=person.pk,
            summary=f"迁入 {grant}（原系统已发放至 {paid_through:%Y-%m}）"
            if paid_through
            else f"迁入 {grant}",
        )
    return grant
