"""审核: proposing a discharge or putting the current plan to a second person, on a case; the
institution's list of what waits for a decision, and the decision."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.models import AuditAction
from kangfu.rehab import selectors_approvals
from kangfu.rehab.forms_aftercare import DecisionForm, DischargeProposalForm
from kangfu.rehab.services import approvals as approval_services
from kangfu.rehab.services.common import require_home
from kangfu.rehab.views.common import _own


@login_required
def case_approvals(request, pk: int):
    case = _own(request, pk)
    form = DischargeProposalForm(request.POST if request.POST.get("action") == "discharge" else None)
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "plan":
                approval_services.plan_submit(actor=request.user, case=case)
                messages.success(request, "已提交康复计划审核。")
                return redirect("rehab:case_approvals", pk=case.pk)
            if form.is_valid():
                d = form.cleaned_data
                approval_services.discharge_propose(
                    actor=request.user, case=case, on=d["on"], reason=d["reason"], note=d["note"]
                )
                messages.success(request, "已提请结案审核；审核通过后结案。")
                return redirect("rehab:case_approvals", pk=case.pk)
        except ValidationError as exc:
            if request.POST.get("action") == "plan":
                messages.error(request, exc.messages[0])
                return redirect("rehab:case_approvals", pk=case.pk)
            apply_service_errors(form, exc)
        status = 400
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=case,
        person_id=case.person_id,
        summary="查看审核记录",
    )
    return render(
        request,
        "rehab/case_approvals.html",
        {"case": case, "form": form, "history": selectors_approvals.approvals_of(case)},
        status=status,
    )


@login_required
@require_GET
def approvals(request):
    require_home(request.user)
    rows = list(selectors_approvals.pending_for(request.user)[:200])
    audit.record_reads(
        actor=request.user, records=rows, person_of=lambda a: a.case.person_id, summary="查看待审核事项"
    )
    return render(request, "rehab/approvals.html", {"rows": rows})


@login_required
@require_POST
def approval_decide(request, pk: int):
    require_home(request.user)
    approval = selectors_approvals.approval_for(request.user, pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            if d["action"] == "approve":
                approval_services.approval_approve(actor=request.user, approval=approval, note=d["note"])
                messages.success(request, f"已批准{approval.get_kind_display()}。")
            else:
                approval_services.approval_return(actor=request.user, approval=approval, note=d["note"])
                messages.success(request, f"已退回{approval.get_kind_display()}。")
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
    else:
        messages.error(request, "请选择批准或退回。")
    return redirect("rehab:approvals")
