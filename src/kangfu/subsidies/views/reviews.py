"""Pages of the annual review (年度复核) and the twice-yearly visits."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kangfu.core import access, audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction
from kangfu.subsidies import selectors
from kangfu.subsidies.forms import (
    CampaignForm,
    ReviewDecisionForm,
    VisitForm,
)
from kangfu.subsidies.services import reviews as reviews_service
from kangfu.subsidies.views.common import bounded_int, picks, reads

TASK_UNREADABLE = "复核任务无法识别，请刷新页面后重试。"
ASSIGN_UNREADABLE = "请勾选要派发的复核任务并选择走访人；如已勾选，请刷新页面后重试（任务或人员可能已变化）。"


@login_required
def reviews(request):
    reads(request)
    rights = access.policy(request.user)
    form = CampaignForm(
        request.POST or None,
        initial={"year": timezone.localdate().year, "due_date": dt.date(timezone.localdate().year, 5, 31)},
    )
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "decide":
            try:
                task_pk = bounded_int(request.POST.get("task", ""))
            except ValueError:
                messages.error(request, TASK_UNREADABLE)
                return redirect(request.get_full_path())
            task = get_object_or_404(selectors.review_tasks_for(request.user), pk=task_pk)
            decision = ReviewDecisionForm(request.POST)
            if decision.is_valid():
                try:
                    reviews_service.review_task_decide(actor=request.user, task=task, **decision.cleaned_data)
                except ValidationError as exc:
                    messages.error(request, "；".join(exc.messages))
                else:
                    messages.success(request, f"{task.person.name}：已登记复核结果。")
            else:
                messages.error(request, "请选择复核结果。")
            return redirect(request.get_full_path())
        if request.POST.get("action") == "assign":
            _assign(request)
            return redirect(request.get_full_path())
        if not rights.runs_payroll:
            raise PermissionDenied(access.NOT_ALLOWED)
        if form.is_valid():
            try:
                campaign = reviews_service.review_campaign_start(
                    actor=request.user, district=selectors.payroll_district(request.user), **form.cleaned_data
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, f"已启动，生成 {selectors.campaign_size(campaign)} 项复核任务，分派到各街道。"
                )
                return redirect("subsidies:reviews")
        status = 400
    tasks = selectors.review_tasks_for(request.user)
    pending = tasks.filter(outcome="pending").order_by("street_id", "person__name")
    context = {
        "form": form,
        "may_start": rights.runs_payroll,
        "pending": pending[:200],
        "pending_count": pending.count(),
        "done_count": tasks.exclude(outcome="pending").count(),
        "decision_form": ReviewDecisionForm(),
        "visitors": selectors.visitors_for(request.user),
    }
    return render(request, "subsidies/reviews.html", context, status=status)


def _assign(request) -> None:
    """Send one community worker to see every ticked person: all the tasks or none, and a message."""
    try:
        chosen = [pk for pk, _version in picks(request)]
        visitor_pk = bounded_int(request.POST.get("visitor", ""))
    except ValueError:
        messages.error(request, ASSIGN_UNREADABLE)
        return
    visitor = selectors.visitors_for(request.user).filter(pk=visitor_pk).first()
    tasks = {t.pk: t for t in selectors.review_tasks_for(request.user).filter(pk__in=chosen)}
    if visitor is None or len(tasks) != len(chosen):
        messages.error(request, ASSIGN_UNREADABLE)
        return
    try:
        done = reviews_service.review_tasks_assign(
            actor=request.user, tasks=[tasks[pk] for pk in chosen], assignee=visitor
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "；".join(getattr(exc, "messages", None) or [str(exc)]))
    else:
        messages.success(
            request, f"已派 {visitor} 入户走访 {len(done)} 人：{'、'.join(t.person.name for t in done)}。"
        )


@login_required
def visits(request):
    reads(request)
    people, (start, end) = selectors.not_yet_seen(request.user)
    form = VisitForm(request.POST or None, initial={"visited_on": timezone.localdate()})
    status = 200
    if request.method == "POST":
        try:
            person_pk = bounded_int(request.POST.get("person", ""))
        except ValueError:
            raise Http404 from None  # no such person on the worklist, as for a number out of scope
        person = get_object_or_404(people, pk=person_pk)
        if form.is_valid():
            try:
                reviews_service.visit_record(actor=request.user, person=person, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已登记与 {person.name} 的见面。")
                return redirect("subsidies:visits")
        status = 400
    return render(
        request,
        "subsidies/visits.html",
        {"people": people[:200], "count": people.count(), "start": start, "end": end, "form": form},
        status=status,
    )


@login_required
@require_GET
def review_print(request, pk: int):
    """The 年度复核 record the file keeps on paper: the person (ID masked), their grants, the visits of
    the year, the result and a line for each signature. Printing it is a read of the person."""
    reads(request)
    task = get_object_or_404(selectors.review_tasks_for(request.user), pk=pk)
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=task,
        person_id=task.person_id,
        summary=f"打印 {task.campaign.year} 年度复核记录：{task.person.name}",
    )
    context = {
        "task": task,
        **selectors.review_record(task, user=request.user),
        "masked_id": mask_id_number(task.person.id_number),
        "today": timezone.localdate(),
    }
    return render(request, "subsidies/print_review.html", context)
