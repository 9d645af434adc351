"""Pages of the scored standards (考核标准, 验收标准) and of contracts' acceptance (验收). Thin views
over `selectors_standards` and `services.standards`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import access
from kangfu.core.forms import apply_service_errors
from kangfu.programme import selectors
from kangfu.programme import selectors_standards as standards_read
from kangfu.programme.forms_standards import AcceptanceForm, NoteForm, StandardForm, StandardReviseForm
from kangfu.programme.models import StandardPurpose
from kangfu.programme.services import standards as standard_services
from kangfu.programme.views.contracts import _manager, _refused

# ------------------------------------------------------------------ standards


@login_required
@require_GET
def standards(request):
    _manager(request)
    return render(
        request,
        "programme/standards.html",
        {
            "versions": standards_read.current_standard_versions(),
            "may_edit": access.policy(request.user).sets_standards,
        },
    )


@login_required
def standard_new(request):
    access.require(request.user, "sets_standards")
    form = StandardForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                standard = standard_services.standard_create(
                    actor=request.user, purpose=StandardPurpose.ACCEPTANCE, **form.cleaned_data
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已新增验收标准“{standard}”。")
                return redirect("programme:standard", pk=standard.pk)
        status = 400
    return render(request, "programme/form.html", {"form": form, "title": "新增验收标准"}, status=status)


def _standard_page(request, standard, form=None, status: int = 200):
    versions = standards_read.standard_versions_of(standard)
    current = next((v for v in versions if v.is_current), None)
    assessment = standard.purpose == StandardPurpose.ASSESSMENT
    if form is None and current is not None:
        lines = "\n".join(
            f"{i.indicator}|{i.text}|{i.min_score}|{i.max_score}|{i.weight}" for i in current.items.all()
        )
        form = StandardReviseForm(
            initial={
                "items": lines,
                "pass_score": current.pass_score,
                "rectify_score": current.rectify_score,
                "year_from": max(current.year_from, timezone.localdate().year + 1),
            },
            assessment=assessment,
        )
    context = {
        "standard": standard,
        "versions": versions,
        "assessment": assessment,
        "form": form,
        "may_edit": access.policy(request.user).sets_standards,
    }
    return render(request, "programme/standard.html", context, status=status)


@login_required
@require_GET
def standard_detail(request, pk: int):
    _manager(request)
    return _standard_page(request, standards_read.standard_get(pk=pk))


@login_required
@require_POST
def standard_revise(request, pk: int):
    access.require(request.user, "sets_standards")
    standard = standards_read.standard_get(pk=pk)
    form = StandardReviseForm(request.POST, assessment=standard.purpose == StandardPurpose.ASSESSMENT)
    if form.is_valid():
        try:
            version = standard_services.standard_revise(
                actor=request.user, standard=standard, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"已保存，现行为第 {version.number} 版。")
            return redirect("programme:standard", pk=standard.pk)
    return _standard_page(request, standard, form, status=400)


# ------------------------------------------------------------------ acceptance


@login_required
def acceptance_new(request, pk: int):
    """Score a contract's acceptance on the chosen acceptance standard's current version."""
    _manager(request)
    contract = selectors.contract_get_for_user(user=request.user, pk=pk)
    versions = list(standards_read.acceptance_standards())
    chosen = request.POST.get("version") or request.GET.get("version")
    version = next((v for v in versions if str(v.pk) == str(chosen)), versions[0] if versions else None)
    if version is None:
        messages.error(request, standard_services.NOT_ACCEPTANCE_STANDARD)
        return redirect("programme:contract", pk=contract.pk)
    items = standards_read.standard_items_of(version)
    form = AcceptanceForm(request.POST or None, items=items, initial={"accepted_on": timezone.localdate()})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = standard_services.AcceptanceData(
                version=version,
                accepted_on=form.cleaned_data["accepted_on"],
                team=form.cleaned_data["team"],
                summary=form.cleaned_data["summary"],
                scores=form.scores,
            )
            try:
                standard_services.acceptance_score(actor=request.user, contract=contract, data=data)
            except PermissionDenied as exc:
                _refused(request, exc)
                return redirect("programme:contract", pk=contract.pk)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存验收评分，等待另一位管理员确认。")
                return redirect("programme:contract", pk=contract.pk)
        status = 400
    context = {
        "contract": contract,
        "form": form,
        "version": version,
        "versions": versions,
        "auto_items": [i for i in items if i.indicator],
    }
    return render(request, "programme/acceptance_form.html", context, status=status)


def _decide(request, pk: int, service, done: str):
    _manager(request)
    acceptance = standards_read.acceptance_get_for_user(user=request.user, pk=pk)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        service(actor=request.user, acceptance=acceptance, note=note)
    except (ValidationError, PermissionDenied) as exc:
        _refused(request, exc)
    else:
        messages.success(request, done)
    return redirect("programme:contract", pk=acceptance.contract_id)


@login_required
@require_POST
def acceptance_confirm(request, pk: int):
    return _decide(request, pk, standard_services.acceptance_confirm, "已确认验收结论。")


@login_required
@require_POST
def acceptance_return(request, pk: int):
    return _decide(request, pk, standard_services.acceptance_return, "已退回验收评分，可重新验收。")
