"""Pages of grants and of the appeals (申诉复核) against their stops."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import access, audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_account
from kangfu.core.models import AuditAction
from kangfu.subsidies import selectors
from kangfu.subsidies.filters import AppealFilter, GrantFilter
from kangfu.subsidies.forms import (
    AppealDecisionForm,
    AppealForm,
    GrantChangeForm,
)
from kangfu.subsidies.models import AppealStatus
from kangfu.subsidies.services import appeals, facts, grants
from kangfu.subsidies.tables import AppealTable, GrantTable
from kangfu.subsidies.views.common import paged, reads


@login_required
@require_GET
def grant_list(request):
    reads(request)
    filterset = GrantFilter(
        request.GET, queryset=selectors.grants_for(request.user).order_by("street_id", "person__name", "id")
    )
    table = paged(request, GrantTable(filterset.qs), read="查看补贴资格列表")
    context = {"filter": filterset, "table": table}
    if request.htmx:
        return render(request, "subsidies/partials/grants_table.html", context)
    return render(request, "subsidies/grants.html", context)


@login_required
def grant_detail(request, pk: int):
    reads(request)
    grant = get_object_or_404(selectors.grants_for(request.user), pk=pk)
    form = GrantChangeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not access.policy(request.user).runs_payroll:
            raise PermissionDenied(access.NOT_ALLOWED)
        if form.is_valid():
            d = form.cleaned_data
            month = d["effective_month"]
            try:
                if d["action"] == "stop":
                    grants.grant_stop(
                        actor=request.user,
                        grant=grant,
                        from_month=month,
                        stop_reason=d["stop_reason"] or "withdrawn",
                        reason=d["reason"],
                    )
                elif d["action"] == "suspend":
                    grants.grant_suspend(
                        actor=request.user, grant=grant, from_month=month, reason=d["reason"]
                    )
                elif d["action"] == "resume":
                    grants.grant_resume(actor=request.user, grant=grant, from_month=month, reason=d["reason"])
                else:
                    grants.grant_regrade(
                        actor=request.user,
                        grant=grant,
                        from_month=month,
                        grade=d["grade"],
                        category=d.get("category") or None,
                        reason=d["reason"],
                    )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已登记，下次发放时按新情况计算。")
                return redirect("subsidies:grant", pk=grant.pk)
        status = 400
    else:
        audit.record(
            actor=request.user,
            action=AuditAction.VIEW,
            obj=grant,
            person_id=grant.person_id,
            summary=f"查看补贴资格 {grant}",
        )
    return render(request, "subsidies/grant.html", _grant_context(request, grant, form=form), status=status)


def _grant_context(request, grant, *, form=None, appeal_form=None) -> dict:
    appealable = appeals.appealable_change(grant)
    year = request.GET.get("year", "")
    related = selectors.grant_related(grant, year=int(year) if year.isdigit() and len(year) == 4 else None)
    may_appeal = (
        appealable is not None
        and not any(a.is_open and a.change_id == appealable.pk for a in related["appeals"])
        and appeals.may_lodge(request.user, grant)
    )
    return {
        "grant": grant,
        **related,
        "form": form or GrantChangeForm(),
        "masked_account": mask_account(grant.bank_account),
        "may_change": access.policy(request.user).runs_payroll,
        "appealable": appealable,
        "appeal_form": appeal_form
        or (
            AppealForm(initial={"change": appealable.pk, "lodged_on": timezone.localdate()})
            if may_appeal
            else None
        ),
        "today": timezone.localdate(),
    }


@login_required
@require_POST
def grant_appeal(request, pk: int):
    """A recipient's challenge to the stop of a grant, recorded by the clerk they came to."""
    reads(request)
    grant = get_object_or_404(selectors.grants_for(request.user), pk=pk)
    if not appeals.may_lodge(request.user, grant):
        raise PermissionDenied(appeals.CANNOT_LODGE)
    form = AppealForm(request.POST)
    if form.is_valid():
        change = selectors.grant_change(grant, form.cleaned_data["change"])
        try:
            if change is None:
                raise ValidationError(appeals.NOT_THE_STOP)
            appeal = appeals.appeal_lodge(
                actor=request.user,
                grant=grant,
                change=change,
                reason=form.cleaned_data["reason"],
                lodged_on=form.cleaned_data["lodged_on"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"已登记申诉，区民政局应于 {appeal.due_on:%Y年%m月%d日} 前复核答复。")
            return redirect("subsidies:appeal", pk=appeal.pk)
    return render(
        request, "subsidies/grant.html", _grant_context(request, grant, appeal_form=form), status=400
    )


# ------------------------------------------------------------------ appeals (申诉复核)


@login_required
@require_GET
def appeal_list(request):
    reads(request)
    today = timezone.localdate()
    filterset = AppealFilter(
        request.GET, queryset=selectors.appeals_for(request.user).order_by("due_on", "id")
    )
    table = paged(request, AppealTable(filterset.qs, today=today))
    context = {
        "filter": filterset,
        "table": table,
        "overdue": selectors.appeals_overdue(request.user, today=today),
    }
    if request.htmx:
        return render(request, "subsidies/partials/appeals_table.html", context)
    return render(request, "subsidies/appeals.html", context)


def _appeal_context(request, appeal, form=None) -> dict:
    grant = appeal.grant
    return {
        "appeal": appeal,
        "grant": grant,
        "explanation": facts.explain(
            person=grant.person, kind=grant.kind, on=timezone.localdate(), district=grant.district_id
        ),
        "may_decide": appeal.is_open and appeals.may_decide(request.user, appeal),
        "form": form or AppealDecisionForm(),
        "today": timezone.localdate(),
    }


@login_required
@require_GET
def appeal_detail(request, pk: int):
    reads(request)
    appeal = get_object_or_404(selectors.appeals_for(request.user), pk=pk)
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=appeal,
        person_id=appeal.grant.person_id,
        summary=f"查看申诉 {appeal}",
    )
    return render(request, "subsidies/appeal.html", _appeal_context(request, appeal))


@login_required
@require_POST
def appeal_decide(request, pk: int):
    reads(request)
    appeal = get_object_or_404(selectors.appeals_for(request.user), pk=pk)
    if not appeals.may_decide(request.user, appeal):
        raise PermissionDenied(appeals.NOT_YOUR_DISTRICT)
    form = AppealDecisionForm(request.POST)
    if form.is_valid():
        try:
            decided = appeals.appeal_decide(
                actor=request.user,
                appeal=appeal,
                upheld=form.cleaned_data["outcome"] == "upheld",
                opinion=form.cleaned_data["opinion"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                "申诉成立，已恢复发放；停发以来的各月将在下次发放时补发。"
                if decided.status == AppealStatus.UPHELD
                else "已答复：申诉不成立，维持原决定。",
            )
            return redirect("subsidies:appeal", pk=appeal.pk)
    appeal.refresh_from_db()
    return render(request, "subsidies/appeal.html", _appeal_context(request, appeal, form), status=400)
