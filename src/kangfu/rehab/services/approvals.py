"""审核 of a plan and of a discharge: one worker proposes, another of the institution decides. Never the
proposer (separation of duties); a decision is a conditional UPDATE of the pending row, so a double
click or two approvers at once leave one decision and one effect (the other gets a Conflict, 409)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Organisation, RegionLevel, Role, User
from kangfu.rehab.models import (
    SERVED_STATES,
    Approval,
    ApprovalKind,
    ApprovalState,
    Case,
    DischargeReason,
    InstitutionProfile,
    Plan,
)
from kangfu.rehab.services import cases as case_services
from kangfu.rehab.services.common import NOT_SERVED, _advance, _not_future, require_own_case

ALREADY_PENDING = "该档案已有待审核的{kind}，请等待审核结果。"
NO_PLAN = "该档案还没有康复计划。"
PLAN_APPROVED = "当前康复计划（第 {version} 版）已经审核通过。"
RETURN_NEEDS_NOTE = "退回时请写明审核意见。"
NOT_AN_APPROVER = "本机构的计划和结案由指定的审核人（主管）审核：{names}。"
DISCHARGE_NEEDS_APPROVAL = "本机构结案须经审核人（主管）审核，请使用“提请结案审核”。"
NO_PROFILE = "请先填写机构登记信息，再指定审核人。"
NOT_ITS_WORKER = "审核人须是本机构或其站点在岗的精康工作人员账号：{names}。"
NAMES_APPROVERS = "只有区民政部门可以指定机构的审核人。"


def approvers_of(institution_id: int) -> list[User]:
    """The institution's named 审核人 whose accounts are active (an approver who left hands the
    decisions back to the other workers until the district names another)."""
    return list(
        User.objects.filter(
            pk__in=InstitutionProfile.approvers.through.objects.filter(
                institutionprofile__organisation_id=institution_id
            ).values("user_id"),
            is_active=True,
        ).order_by("username")
    )


def may_name_approvers(actor: User, institution: Organisation) -> bool:
    """Civil affairs at district level or above, over the institution's region: not a street office
    (which refers people to institutions but does not supervise them), never the institution."""
    region = actor.jurisdiction
    return (
        access.policy(actor).rehab_intake
        and region is not None
        and region.level <= RegionLevel.DISTRICT
        and access.region_in_jurisdiction(actor, institution.region_id)
    )


def eligible_approvers(institution: Organisation):
    """The accounts that may be named: active rehab workers of the institution or of its sites."""
    return User.objects.filter(
        Q(organisation=institution) | Q(organisation__parent=institution),
        role=Role.REHAB_WORKER,
        is_active=True,
    ).order_by("username")


def approvers_set(*, actor: User, institution: Organisation, users: list[User]) -> list[User]:
    """Civil affairs of the district names the institution's 审核人 (none: any other worker decides)."""
    if not may_name_approvers(actor, institution):
        raise PermissionDenied(NAMES_APPROVERS)
    profile = InstitutionProfile.objects.filter(organisation=institution).first()
    if profile is None:
        raise ValidationError(NO_PROFILE)
    eligible = set(eligible_approvers(institution).values_list("pk", flat=True))
    outside = [u for u in users if u.pk not in eligible]
    if outside:
        raise ValidationError(
            {"approvers": [NOT_ITS_WORKER.format(names="、".join(str(u) for u in outside))]}
        )
    with transaction.atomic():
        before = sorted(u.username for u in profile.approvers.all())
        profile.approvers.set(users)
        after = sorted(u.username for u in users)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=profile,
            changes={"approvers": [before, after]},
            summary=f"指定{institution.name}的审核人：{'、'.join(after) or '（无，由其他工作人员审核）'}",
        )
    return list(users)


def discharge_directly(*, actor: User, case: Case, on: dt.date, reason: str, note: str = "") -> None:
    """结案 from the case page, where the institution has no 审核人; where it has, through approval."""
    require_own_case(actor, case)
    if approvers_of(case.institution_id):
        raise ValidationError(DISCHARGE_NEEDS_APPROVAL)
    case_services.case_discharge(actor=actor, case=case, on=on, reason=reason, note=note)


def _propose(actor: User, case: Case, kind: str, **fields) -> Approval:
    try:
        with transaction.atomic():
            approval = Approval.objects.create(case=case, kind=kind, proposed_by=actor, **fields)
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=approval,
                person_id=case.person_id,
                summary=f"提交{approval.get_kind_display()}审核",
            )
    except IntegrityError:
        raise ValidationError(ALREADY_PENDING.format(kind=ApprovalKind(kind).label)) from None
    return approval


def discharge_propose(*, actor: User, case: Case, on: dt.date, reason: str, note: str = "") -> Approval:
    """提请结案: the case stays open until another worker approves."""
    require_own_case(actor, case)
    if case.status not in SERVED_STATES:
        raise ValidationError(NOT_SERVED.format(status=case.get_status_display()))
    _not_future(on, "on")
    if reason not in DischargeReason.values:
        raise ValidationError({"reason": "请选择结案原因。"})
    return _propose(
        actor, case, ApprovalKind.DISCHARGE, discharge_on=on, discharge_reason=reason, note=note[:300]
    )


def plan_submit(*, actor: User, case: Case) -> Approval:
    """The current plan version, put to a second person for approval."""
    require_own_case(actor, case)
    plan = Plan.objects.filter(case=case, is_current=True).first()
    if plan is None:
        raise ValidationError(NO_PLAN)
    if Approval.objects.filter(plan=plan, state=ApprovalState.APPROVED).exists():
        raise ValidationError(PLAN_APPROVED.format(version=plan.version))
    return _propose(actor, case, ApprovalKind.PLAN, plan=plan)


def _decide(actor: User, approval: Approval, state: str, note: str) -> None:
    require_own_case(actor, approval.case)
    access.ensure_separate_actors(submitted_by_id=approval.proposed_by_id, actor=actor)
    approvers = approvers_of(approval.case.institution_id)
    if approvers and actor.pk not in {u.pk for u in approvers}:
        raise PermissionDenied(NOT_AN_APPROVER.format(names="、".join(str(u) for u in approvers)))
    if approval.plan_id is not None:
        # The author of the plan does not approve it either, whoever put it forward.
        access.ensure_separate_actors(submitted_by_id=approval.plan.by_id, actor=actor)
    _advance(
        Approval,
        approval.pk,
        expected=[ApprovalState.PENDING],
        field_name="state",
        state=state,
        decided_by=actor,
        decided_at=timezone.now(),
        decision_note=note[:300],
    )


def approval_approve(*, actor: User, approval: Approval, note: str = "") -> Approval:
    """Approve; a discharge is carried out now, by the approver, on the proposed day and reason."""
    with transaction.atomic():
        _decide(actor, approval, ApprovalState.APPROVED, note)
        if approval.kind == ApprovalKind.DISCHARGE:
            case_services.case_discharge(
                actor=actor,
                case=approval.case,
                on=approval.discharge_on,
                reason=approval.discharge_reason,
                note=approval.note,
            )
        approval.refresh_from_db()
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=approval,
            person_id=approval.case.person_id,
            summary=f"批准{approval.get_kind_display()}" + (f"：{note}" if note else ""),
        )
    return approval


def approval_return(*, actor: User, approval: Approval, note: str) -> Approval:
    """Send back with the reason; the proposer may propose again."""
    if not note.strip():
        raise ValidationError({"note": RETURN_NEEDS_NOTE})
    with transaction.atomic():
        _decide(actor, approval, ApprovalState.RETURNED, note)
        approval.refresh_from_db()
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=approval,
            person_id=approval.case.person_id,
            summary=f"退回{approval.get_kind_display()}：{note}",
        )
    return approval
