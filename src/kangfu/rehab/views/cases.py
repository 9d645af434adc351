"""The list of cases and a case's file, and its status: suspend, resume, discharge."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import audit
from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.models import CaseStatus, SharePart
from kangfu.rehab.services import approvals as approval_services
from kangfu.rehab.services import cases as case_services
from kangfu.rehab.services.common import require_home
from kangfu.rehab.views.common import _case_errors, _handle, _own


@login_required
@require_GET
def cases(request):
    require_home(request.user)
    rows = selectors.cases_for(request.user).select_related("person", "worker", "site").order_by("-id")
    status = request.GET.get("status") or ""
    q = (request.GET.get("q") or "").strip()
    if status:
        rows = rows.filter(status=status)
    if q:
        rows = rows.filter(person__name__startswith=q)
    if request.GET.get("mine"):
        rows = rows.filter(worker=request.user)
    shown = list(rows[:200])
    audit.record_reads(
        actor=request.user, records=shown, person_of=lambda c: c.person_id, summary="查看精康个案列表"
    )
    return render(
        request,
        "rehab/cases.html",
        {
            "rows": shown,
            "status": status,
            "statuses": CaseStatus.choices,
            "q": q,
            "today": timezone.localdate(),
        },
    )


def _case_context(request, view: selectors.CaseView) -> dict:
    case = view.case
    context = {
        "v": view,
        "case": case,
        "person": case.person,
        "masked_id": mask_id_number(case.person.id_number),
        "parts": view.parts,
        "part_labels": [label for value, label in SharePart.choices if value in view.parts],
        "today": timezone.localdate(),
        "scales": selectors.current_scales(),
    }
    if view.full:
        context.update(
            contacts=case.contacts.all(),
            events=case.events.select_related("by"),
            transfers=case.transfers_out.select_related("to_org"),
            placements=case.placements.all(),
            attendances=case.attendances.filter(is_family=False)
            .select_related("activity")
            .order_by("-activity__held_on")[:30],
            attendance_total=case.attendances.filter(is_family=False).count(),
            plans=case.plans.prefetch_related("goals", "services__worker"),
            intake=getattr(case, "intake", None) if hasattr(case, "intake") else None,
        )
    if view.sees(SharePart.ASSESSMENTS):
        context["outcomes"] = selectors.outcomes_of(case)
        context["assessments"] = case.assessments.select_related("scale", "by", "amends").order_by(
            "-assessed_on", "-id"
        )
    if view.sees(SharePart.PLAN):
        context["plan"] = (
            case.plans.filter(is_current=True).prefetch_related("goals", "services__worker").first()
        )
    if view.sees(SharePart.FOLLOW_UPS):
        context["follow_ups"] = case.follow_ups.select_related("by")[:20]
    if view.sees(SharePart.INTAKE):
        context["intake"] = selectors.intake_of(case)
    return context


@login_required
@require_GET
def case_detail(request, pk: int):
    view = selectors.case_view(request.user, pk)
    summary = {"own": "查看精康档案", "transfer": "查看转介共享的精康档案", "emergency": "紧急查阅精康档案"}[
        view.why
    ]
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=view.case,
        person_id=view.case.person_id,
        summary=summary,
    )
    context = _case_context(request, view)
    if view.why == "own":
        context["contact_form"] = f.ContactForm()
        context["decide_form"] = f.DecideForm()
        context["status_form"] = f.StatusForm()
    return render(request, "rehab/case.html", context)


@login_required
@require_POST
def case_status(request, pk: int):
    case = _own(request, pk)
    form = f.StatusForm(request.POST)

    def act(d):
        if d["action"] == "suspend":
            case_services.case_suspend(actor=request.user, case=case, on=d["on"], reason=d["note"])
        elif d["action"] == "resume":
            case_services.case_resume(actor=request.user, case=case, on=d["on"])
        else:
            approval_services.discharge_directly(
                actor=request.user, case=case, on=d["on"], reason=d["reason"], note=d["note"]
            )

    response = _handle(request, form, act, "已更新服务状态。", ("rehab:case", case.pk))
    return response or _case_errors(request, case, form)
