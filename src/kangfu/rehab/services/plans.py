"""The personal rehabilitation plan, versioned: a new version supersedes the last, which is kept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, User
from kangfu.rehab.models import SERVED_STATES, Assessment, Case, Plan, PlanGoal, PlanService
from kangfu.rehab.services.cases import _activate
from kangfu.rehab.services.common import NOT_SERVED, require_own_case

REVIEW_BEFORE_START = "复评日期应晚于计划开始日期。"
PLAN_NEEDS_GOALS = "康复计划至少要有一个目标和一项服务。"


@dataclass
class PlanData:
    starts_on: dt.date
    review_on: dt.date
    summary: str
    goals: list[dict[str, str]]  # problem, scale_item, goal
    services: list[dict[str, Any]]  # service_type, times, per, place, worker (User or None)
    basis: list[int] = field(default_factory=list)


def plan_create(*, actor: User, case: Case, data: PlanData) -> Plan:
    """A new version of the personal plan; the previous version is kept and marked superseded."""
    require_own_case(actor, case)
    if case.status not in SERVED_STATES:
        raise ValidationError(NOT_SERVED.format(status=case.get_status_display()))
    if data.review_on <= data.starts_on:
        raise ValidationError({"review_on": REVIEW_BEFORE_START})
    goals = [g for g in data.goals if g.get("goal", "").strip()]
    services = [s for s in data.services if s.get("service_type")]
    if not goals or not services:
        raise ValidationError(PLAN_NEEDS_GOALS)
    home = access.rehab_home(actor)
    for s in services:
        if s.get("worker") is not None and access.rehab_home(s["worker"]) != home:
            raise ValidationError("服务负责人须是本机构的工作人员。")
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        last = Plan.objects.filter(case=locked).order_by("-version").first()
        Plan.objects.filter(case=locked, is_current=True).update(is_current=False)
        plan = Plan.objects.create(
            case=locked,
            version=(last.version + 1) if last else 1,
            starts_on=data.starts_on,
            review_on=data.review_on,
            summary=data.summary,
            by=actor,
        )
        PlanGoal.objects.bulk_create(
            PlanGoal(
                plan=plan,
                problem=g.get("problem", "")[:200],
                scale_item=g.get("scale_item", "")[:60],
                goal=g["goal"][:300],
            )
            for g in goals
        )
        PlanService.objects.bulk_create(
            PlanService(
                plan=plan,
                service_type=s["service_type"],
                times=s.get("times") or 1,
                per=s.get("per") or "week",
                place=s.get("place") or "site",
                worker=s.get("worker"),
            )
            for s in services
        )
        if data.basis:
            plan.basis.set(Assessment.objects.filter(case=locked, pk__in=data.basis))
        Case.objects.filter(pk=case.pk).update(plan_review_on=data.review_on)
        _activate(locked, data.starts_on, actor, "制订康复计划")
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=plan,
            person_id=case.person_id,
            summary=f"康复计划第 {plan.version} 版，复评日期 {data.review_on}",
        )
    return plan
