"""Appeals against a stop (申诉复核). A recipient challenges the change that stopped or suspended a
grant; a clerk records it, and the paying district re-checks it within 10 working days (DOMAIN.md).

Upheld, the grant is paid again from the challenged change's month: its periods are rewritten and
those months marked for recalculation, so the next payroll pays every month withheld as arrears,
however many, against what locked payrolls paid. `Policy.back_pay_months` does not apply: it caps
what a late-reported new certificate earns, not money that was wrongly withheld. Rejected, nothing
changes but the appeal.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, User
from kangfu.core.transitions import Conflict, advance
from kangfu.core.workdays import add_working_days
from kangfu.subsidies.models import (
    Appeal,
    AppealStatus,
    ChangeAction,
    Grant,
    GrantChange,
    GrantPeriod,
    GrantStatus,
)
from kangfu.subsidies.services import facts, grants

# Working days the district has to answer (DOMAIN.md: 10); a local rule may differ.
APPEAL_DAYS = getattr(settings, "KANGFU_SUBSIDY_APPEAL_DAYS", 10)

NOT_STOPPED = "只能对停发或暂停中的补贴提出申诉。"
NOT_THE_STOP = "只能对使该补贴停发或暂停的最近一次变更提出申诉。"
ALREADY_OPEN = "该停发已有待复核的申诉（{due:%Y-%m-%d} 前答复），请勿重复登记。"
NO_REASON = "请填写申诉理由。"
FUTURE_DAY = "申诉日期不能晚于今天。"
BEFORE_STOP = "申诉日期不能早于停发登记的日期 {day:%Y-%m-%d}。"
CANNOT_LODGE = "您的岗位或辖区不能为该人员登记申诉。"
NOT_YOUR_DISTRICT = "申诉由发放该补贴的区民政局复核。"
ALREADY_DECIDED = "该申诉已有复核结论，不能再次办理。"
NEEDS_OPINION = "请填写复核意见（将告知申诉人）。"
BAD_OUTCOME = "复核结论应为申诉成立或不成立。"
CHANGED_SINCE = "停发后该补贴又有变更（{change}），不能按申诉直接恢复发放；请在补贴页核实后登记变更。"
NO_GRADE = "无法确定恢复发放的残疾等级：停发前没有发放期间，本人也没有有效的残疾人证。"

# The change that put a grant in each status, and so the one an appeal can challenge.
CHALLENGED_ACTION = {GrantStatus.STOPPED: ChangeAction.STOP, GrantStatus.SUSPENDED: ChangeAction.SUSPEND}


def _latest_change(grant: Grant) -> GrantChange | None:
    # A transfer to another district moves where a grant is paid, not whether: it is passed over.
    return (
        GrantChange.objects.filter(grant=grant)
        .exclude(action=ChangeAction.TRANSFER)
        .order_by("-at", "-id")
        .first()
    )


def appealable_change(grant: Grant) -> GrantChange | None:
    """The change a recipient can challenge: the latest change of a stopped or suspended grant, if it
    is the stop or suspension itself (an older one has been overtaken by what came after)."""
    wanted = CHALLENGED_ACTION.get(GrantStatus(grant.status))
    latest = _latest_change(grant)
    if wanted is None or latest is None or latest.action != wanted:
        return None
    return latest


def may_lodge(actor: User, grant: Grant) -> bool:
    """Any clerk of the approval chain whose area holds the grant records an appeal, as the recipient
    comes to their community, street or district."""
    if not access.policy(actor).subsidy_step:
        return False
    scope = access.area_q(actor, district="district_id", street="street_id", community="person__community_id")
    return Grant.objects.filter(scope, pk=grant.pk).exists()


def may_decide(actor: User, appeal: Appeal) -> bool:
    """The district that pays the grant re-checks it, at the district step."""
    return access.policy(actor).subsidy_step == "district" and access.region_in_jurisdiction(
        actor, appeal.grant.district_id
    )


def appeal_lodge(
    *, actor: User, grant: Grant, change: GrantChange, reason: str, lodged_on: dt.date | None = None
) -> Appeal:
    """Record a recipient's challenge to the stop or suspension of a grant, due in working days."""
    if not may_lodge(actor, grant):
        raise PermissionDenied(CANNOT_LODGE)
    today = timezone.localdate()
    lodged_on = lodged_on or today
    if change.grant_id != grant.pk:
        raise ValidationError(NOT_THE_STOP)
    if grant.status not in CHALLENGED_ACTION:
        raise ValidationError(NOT_STOPPED)
    current = appealable_change(grant)
    if current is None or current.pk != change.pk:
        raise ValidationError(NOT_THE_STOP)
    if not reason.strip():
        raise ValidationError({"reason": [NO_REASON]})
    if lodged_on > today:
        raise ValidationError({"lodged_on": [FUTURE_DAY]})
    recorded = timezone.localdate(change.at)
    if lodged_on < recorded:
        raise ValidationError({"lodged_on": [BEFORE_STOP.format(day=recorded)]})
    open_appeal = Appeal.objects.filter(change=change, status=AppealStatus.LODGED).first()
    if open_appeal is not None:
        raise ValidationError(ALREADY_OPEN.format(due=open_appeal.due_on))
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                grant=grant,
                change=change,
                lodged_on=lodged_on,
                lodged_by=actor,
                reason=reason.strip(),
                due_on=add_working_days(lodged_on, APPEAL_DAYS),
            )
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=appeal,
                person_id=grant.person_id,
                summary=f"{grant}：登记对{change.get_action_display()}（自 {change.effective_month:%Y-%m}）的申诉，"
                f"{appeal.due_on:%Y-%m-%d} 前复核",
            )
    except IntegrityError:
        # Two clerks recording the same appeal at once: the constraint lets one through.
        open_appeal = Appeal.objects.filter(change=change, status=AppealStatus.LODGED).first()
        raise Conflict(ALREADY_OPEN.format(due=open_appeal.due_on if open_appeal else lodged_on)) from None
    return appeal


def _grade_before(grant: Grant, month: dt.date) -> tuple[int, int]:
    """The grade and category the grant had just before `month`, else the person's certificate."""
    before = (
        GrantPeriod.objects.filter(grant=grant, from_month__lt=month).order_by("-from_month", "-id").first()
    )
    if before is not None:
        return before.grade, before.category
    cert = facts.valid_certificate(grant.person, timezone.localdate())
    if cert is None:
        raise ValidationError(NO_GRADE)
    return cert.grade, cert.category


def _reinstate(appeal: Appeal, actor: User) -> GrantChange:
    """Pay the grant again from the challenged change's month, at the grade it had before."""
    grant, change = appeal.grant, appeal.change
    latest = _latest_change(grant)
    if latest is None or latest.pk != change.pk:
        raise ValidationError(CHANGED_SINCE.format(change=latest))
    status = next(s for s, action in CHALLENGED_ACTION.items() if action == change.action)
    month = change.effective_month
    grade, category = _grade_before(grant, month)
    grants.grant_reinstate(
        actor=actor,
        grant=grant,
        from_status=status,
        from_month=month,
        grade=grade,
        category=category,
        reason=f"申诉复核成立，自 {month:%Y-%m} 起恢复发放",
    )
    return _latest_change(grant)


def appeal_decide(*, actor: User, appeal: Appeal, upheld: bool, opinion: str) -> Appeal:
    """The district's answer. Upheld, the grant is paid again from the stop's month and the next
    payroll back-pays the months withheld; rejected, the stop stands. Decided once: a second click, or
    a colleague deciding at the same moment, finds the appeal no longer open."""
    if not isinstance(upheld, bool):
        raise ValidationError(BAD_OUTCOME)
    if not may_decide(actor, appeal):
        raise PermissionDenied(NOT_YOUR_DISTRICT)
    access.ensure_separate_actors(submitted_by_id=appeal.lodged_by_id, actor=actor)
    if not opinion.strip():
        raise ValidationError({"opinion": [NEEDS_OPINION]})
    outcome = AppealStatus.UPHELD if upheld else AppealStatus.REJECTED
    with transaction.atomic():
        advance(
            Appeal.objects.filter(pk=appeal.pk),
            expected=AppealStatus.LODGED,
            message=ALREADY_DECIDED,
            status=outcome,
            decided_by=actor,
            decided_at=timezone.now(),
            opinion=opinion.strip(),
        )
        appeal.refresh_from_db()
        if upheld:
            reinstated = _reinstate(appeal, actor)
            Appeal.objects.filter(pk=appeal.pk).update(reinstated=reinstated)
        late = timezone.localdate() > appeal.due_on
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=appeal,
            person_id=appeal.grant.person_id,
            summary=f"{appeal.grant}：申诉复核 {outcome.label}"
            + (f"（逾期，期限 {appeal.due_on:%Y-%m-%d}）" if late else ""),
            changes={"status": [AppealStatus.LODGED.value, outcome.value], "opinion": ["", opinion.strip()]},
        )
    appeal.refresh_from_db()
    return appeal
