"""The personal rehabilitation plan."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from kangfu.core import access
from kangfu.core.forms import apply_service_errors
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.services import plans
from kangfu.rehab.views.common import _own


@login_required
def case_plan(request, pk: int):
    case = _own(request, pk)
    workers = f._StaffChoices.workers(access.rehab_org_ids(request.user))
    current = case.plans.filter(is_current=True).prefetch_related("goals", "services").first()
    goal_initial = [{"problem": g.problem, "goal": g.goal} for g in current.goals.all()] if current else []
    service_initial = (
        [
            {
                "service_type": s.service_type,
                "times": s.times,
                "per": s.per,
                "place": s.place,
                "worker": s.worker_id,
            }
            for s in current.services.all()
        ]
        if current
        else []
    )
    if not goal_initial:
        goal_initial = [
            {"problem": f"{o['name']}：{o['latest'].band_label}", "goal": ""}
            for o in selectors.outcomes_of(case)
            if o["code"] != "risk"
        ][:4]
    form = f.PlanForm(
        request.POST or None,
        initial={
            "review_on": timezone.localdate() + dt.timedelta(days=90),
            "summary": current.summary if current else "",
        },
    )
    goals = f.GoalFormSet(request.POST or None, prefix="goals", initial=goal_initial)
    plan_services = f.PlanServiceFormSet(
        request.POST or None, prefix="services", initial=service_initial, form_kwargs={"workers": workers}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid() and goals.is_valid() and plan_services.is_valid():
            try:
                plans.plan_create(
                    actor=request.user,
                    case=case,
                    data=plans.PlanData(
                        starts_on=form.cleaned_data["starts_on"],
                        review_on=form.cleaned_data["review_on"],
                        summary=form.cleaned_data["summary"],
                        goals=[g.cleaned_data for g in goals if g.cleaned_data.get("goal")],
                        services=[
                            s.cleaned_data for s in plan_services if s.cleaned_data.get("service_type")
                        ],
                        basis=list(
                            case.assessments.filter(amended_by__isnull=True).values_list("pk", flat=True)
                        ),
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存康复计划。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request,
        "rehab/plan_form.html",
        {"form": form, "goals": goals, "services": plan_services, "case": case, "current": current},
        status=status,
    )
