"""Dynamic management: the annual review campaign and the twice-yearly visits. A failed or missed
review stops the person's grants from the next month, and a visit that finds a problem suspends them;
either way the next payroll follows."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Region, User
from kangfu.core.months import add_months, month_start
from kangfu.core.transitions import advance
from kangfu.people.models import Person
from kangfu.subsidies.models import (
    Grant,
    GrantStatus,
    ReviewCampaign,
    ReviewOutcome,
    ReviewTask,
    StopReason,
    Visit,
    VisitMode,
)
from kangfu.subsidies.services.grants import grant_stop, grant_suspend

CAMPAIGN_EXISTS = "{year} 年度复核已经开始。"
TASK_DONE = "该复核任务已办理。"
NOT_YOUR_STREET = "该人员不在您的辖区。"
FUTURE = "日期不能晚于今天。"
NO_GRANT = "该人员没有发放中的补贴。"
NOT_A_VISITOR = "只能派给负责该人员所在社区的社区工作人员。"
NOTHING_CHOSEN = "请先勾选要派发的复核任务。"
ASSIGN_REFUSED = "以下 {n} 人未能派发，本次勾选的任务均未派发：{items}"


class AssignRefused(ValidationError):
    """Some tasks of a batch could not be assigned, so none was: `refused` names each with why."""

    def __init__(self, refused: list[tuple[ReviewTask, str]]):
        self.refused = refused
        items = "；".join(f"{t.person.name}：{reason}" for t, reason in refused)
        super().__init__(ASSIGN_REFUSED.format(n=len(refused), items=items))


def review_campaign_start(*, actor: User, district: Region, year: int, due_date: dt.date) -> ReviewCampaign:
    """Open a year's review: one task for every person with a grant being paid, for their street."""
    if not (access.policy(actor).runs_payroll and access.region_in_jurisdiction(actor, district.code)):
        raise PermissionDenied(access.NOT_ALLOWED)
    try:
        with transaction.atomic():
            campaign = ReviewCampaign.objects.create(
                district=district, year=year, due_date=due_date, created_by=actor
            )
            people = (
                Grant.objects.filter(district=district, status=GrantStatus.ACTIVE)
                .values_list("person_id", "street_id")
                .distinct()
                .order_by("person_id")
            )
            seen: set[int] = set()
            tasks = []
            for person_id, street_id in people:
                if person_id not in seen:
                    seen.add(person_id)
                    tasks.append(ReviewTask(campaign=campaign, person_id=person_id, street_id=street_id))
            ReviewTask.objects.bulk_create(tasks, batch_size=2000)
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=campaign,
                summary=f"启动 {campaign}：{len(tasks)} 人",
            )
    except IntegrityError:
        raise ValidationError(CAMPAIGN_EXISTS.format(year=year)) from None
    return campaign


def review_task_decide(
    *, actor: User, task: ReviewTask, outcome: str, method: str = "", note: str = ""
) -> ReviewTask:
    if not _may_manage(actor, task):
        raise PermissionDenied(NOT_YOUR_STREET)
    with transaction.atomic():
        advance(
            ReviewTask.objects.filter(pk=task.pk),
            field="outcome",
            expected=ReviewOutcome.PENDING,
            message=TASK_DONE,
            outcome=outcome,
            method=method,
            note=note,
            decided_by=actor,
            decided_at=timezone.now(),
        )
        if outcome in (ReviewOutcome.FAILED, ReviewOutcome.ABSENT):
            first_unpaid = add_months(month_start(timezone.localdate()), 1)
            for grant in Grant.objects.filter(person_id=task.person_id).exclude(status=GrantStatus.STOPPED):
                grant_stop(
                    actor=actor,
                    grant=grant,
                    from_month=max(first_unpaid, grant.start_month),
                    stop_reason=StopReason.REVIEW,
                    reason=f"{task.campaign.year} 年度复核：{ReviewOutcome(outcome).label}",
                )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=task,
            person_id=task.person_id,
            summary=f"年度复核：{ReviewOutcome(outcome).label}",
        )
    task.refresh_from_db()
    return task


def _may_manage(actor: User, task: ReviewTask) -> bool:
    return access.region_in_jurisdiction(actor, task.street_id) and access.policy(actor).subsidy_step in (
        "street",
        "district",
    )


def review_task_assign(*, actor: User, task: ReviewTask, assignee: User) -> ReviewTask:
    """Send a community worker to see the person of a pending review task (入户走访). The task must
    still be pending when the update runs, so a result recorded meanwhile is a `Conflict`."""
    if not _may_manage(actor, task):
        raise PermissionDenied(NOT_YOUR_STREET)
    if (
        access.policy(assignee).subsidy_step != "community"
        or not access.scope_people(Person.objects.filter(pk=task.person_id), assignee).exists()
    ):
        raise ValidationError(NOT_A_VISITOR)
    with transaction.atomic():
        advance(
            ReviewTask.objects.filter(pk=task.pk),
            field="outcome",
            expected=ReviewOutcome.PENDING,
            message=TASK_DONE,
            assigned_to=assignee,
            assigned_at=timezone.now(),
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=task,
            person_id=task.person_id,
            summary=f"{task.campaign.year} 年度复核：派 {assignee} 入户走访",
            changes={"assigned_to": [task.assigned_to_id, assignee.pk]},
        )
    task.refresh_from_db()
    return task


def review_tasks_assign(*, actor: User, tasks: list[ReviewTask], assignee: User) -> list[ReviewTask]:
    """Assign a batch of tasks to one visitor, all or nothing: each through `review_task_assign`
    inside one transaction; if any is refused, each refusal is named and no task changes."""
    if not tasks:
        raise ValidationError(NOTHING_CHOSEN)
    refused: list[tuple[ReviewTask, str]] = []
    done: list[ReviewTask] = []
    with transaction.atomic():
        for task in tasks:
            try:
                # A savepoint each, so that every refusal can be named before the batch is undone.
                with transaction.atomic():
                    done.append(review_task_assign(actor=actor, task=task, assignee=assignee))
            except (ValidationError, PermissionDenied) as exc:
                refused.append((task, "；".join(getattr(exc, "messages", None) or [str(exc)])))
        if refused:
            raise AssignRefused(refused)
    return done


def visit_record(
    *,
    actor: User,
    person: Person,
    visited_on: dt.date,
    mode: str,
    findings: str,
    abnormal: bool = False,
    suspend: bool = False,
) -> Visit:
    if not access.scope_people(Person.objects.filter(pk=person.pk), actor).exists():
        raise PermissionDenied(NOT_YOUR_STREET)
    if visited_on > timezone.localdate():
        raise ValidationError({"visited_on": [FUTURE]})
    if not Grant.objects.filter(person=person, status=GrantStatus.ACTIVE).exists():
        raise ValidationError(NO_GRANT)
    with transaction.atomic():
        visit = Visit.objects.create(
            person=person,
            visited_on=visited_on,
            mode=mode,
            findings=findings,
            abnormal=abnormal,
            visitor=actor,
        )
        if abnormal and suspend:
            first_unpaid = add_months(month_start(timezone.localdate()), 1)
            for grant in Grant.objects.filter(person=person, status=GrantStatus.ACTIVE):
                grant_suspend(
                    actor=actor,
                    grant=grant,
                    from_month=max(first_unpaid, grant.start_month),
                    reason=f"走访发现异常：{findings}",
                )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=visit,
            person_id=person.pk,
            summary=f"{VisitMode(mode).label}：{findings}",
        )
    return visit


def half_year(day: dt.date) -> tuple[dt.date, dt.date]:
    """The half-year containing `day`: visits are counted per half, twice a year."""
    if day.month <= 6:
        return dt.date(day.year, 1, 1), dt.date(day.year, 6, 30)
    return dt.date(day.year, 7, 1), dt.date(day.year, 12, 31)
