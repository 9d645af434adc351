"""Pages of supervision (督导): checklists, quarterly visits, findings answered by the institution and
verified by civil affairs. Thin views over the selectors and `services.supervision`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from kangfu.core import access
from kangfu.core.forms import apply_service_errors
from kangfu.core.pagination import CappedPaginator
from kangfu.programme import selectors
from kangfu.programme import selectors_standards as standards_read
from kangfu.programme.filters import VisitFilter
from kangfu.programme.forms import (
    AnswerForm,
    ChecklistForm,
    ChecklistReviseForm,
    PhotoForm,
    VerifyForm,
    VisitForm,
)
from kangfu.programme.services import supervision
from kangfu.programme.tables import VisitTable
from kangfu.programme.views.contracts import PER_PAGE, _manager, _reader, _refused

# ------------------------------------------------------------------ checklists


def _standards(request) -> None:
    access.require(request.user, "sets_standards")


@login_required
@require_GET
def checklists(request):
    _manager(request)
    return render(
        request,
        "programme/checklists.html",
        {"checklists": selectors.current_versions(), "may_edit": access.policy(request.user).sets_standards},
    )


@login_required
def checklist_new(request):
    _standards(request)
    form = ChecklistForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                checklist = supervision.checklist_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已新增督导检查表“{checklist}”。")
                return redirect("programme:checklist", pk=checklist.pk)
        status = 400
    return render(request, "programme/form.html", {"form": form, "title": "新增督导检查表"}, status=status)


def _checklist_page(request, checklist, form=None, status: int = 200):
    versions = selectors.versions_of(checklist)
    current = next((v for v in versions if v.is_current), None)
    if form is None and current is not None:
        lines = "\n".join(
            f"{i.section}|{i.text}|{i.min_score}|{i.max_score}|{i.weight}" for i in current.items.all()
        )
        form = ChecklistReviseForm(initial={"items": lines})
    context = {
        "checklist": checklist,
        "versions": versions,
        "form": form,
        "may_edit": access.policy(request.user).sets_standards,
    }
    return render(request, "programme/checklist.html", context, status=status)


@login_required
@require_GET
def checklist_detail(request, pk: int):
    _manager(request)
    return _checklist_page(request, selectors.checklist_get(pk=pk))


@login_required
@require_POST
def checklist_revise(request, pk: int):
    _standards(request)
    checklist = selectors.checklist_get(pk=pk)
    form = ChecklistReviseForm(request.POST)
    if form.is_valid():
        try:
            version = supervision.checklist_revise(
                actor=request.user,
                checklist=checklist,
                items=form.cleaned_data["items"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"已保存，现行为第 {version.number} 版。")
            return redirect("programme:checklist", pk=checklist.pk)
    return _checklist_page(request, checklist, form, status=400)


# ------------------------------------------------------------------ visits


@login_required
@require_GET
def visits(request):
    _reader(request)
    filterset = VisitFilter(
        request.GET, queryset=selectors.visits_for(request.user).order_by("-visited_on", "-id")
    )
    table = VisitTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE, "paginator_class": CappedPaginator}).configure(
        table
    )
    context = {
        "table": table,
        "filter": filterset,
        "manages": selectors.manages(request.user),
        "versions": selectors.current_versions() if selectors.manages(request.user) else [],
    }
    if request.htmx:
        return render(request, "programme/partials/list_table.html", context)
    return render(request, "programme/visits.html", context)


@login_required
def visit_new(request, version_pk: int):
    _manager(request)
    version = selectors.current_versions().filter(pk=version_pk).first()
    if version is None:
        messages.error(request, supervision.NOT_CURRENT)
        return redirect("programme:visits")
    items = selectors.items_of(version)
    today = timezone.localdate()
    initial = {"year": today.year, "quarter": (today.month - 1) // 3 + 1, "visited_on": today}
    form = VisitForm(request.POST or None, user=request.user, items=items, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = supervision.VisitData(
                institution=form.cleaned_data["institution"],
                year=form.cleaned_data["year"],
                quarter=form.cleaned_data["quarter"],
                visited_on=form.cleaned_data["visited_on"],
                version=version,
                team=form.cleaned_data["team"],
                summary=form.cleaned_data["summary"],
                scores=form.scores,
                findings=form.cleaned_data["findings"],
                experts=list(form.cleaned_data["experts"]),
            )
            try:
                visit = supervision.visit_record(actor=request.user, data=data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已记录督导，得分 {visit.score}。")
                return redirect("programme:visit", pk=visit.pk)
        status = 400
    title = f"记录督导：{version}"
    return render(request, "programme/form.html", {"form": form, "title": title}, status=status)


def _visit_context(request, visit) -> dict:
    mine = visit.institution_id in access.rehab_org_ids(request.user)
    return {
        "visit": visit,
        "scores": selectors.scores_of(visit),
        "findings": selectors.findings_of(visit),
        "answers": mine,
        "verifies": selectors.manages(request.user),
        "answer_form": AnswerForm(),
        "photo_form": PhotoForm(),
        "verify_form": VerifyForm(),
    }


@login_required
@require_GET
def visit_detail(request, pk: int):
    _reader(request)
    visit = selectors.visit_get_for_user(user=request.user, pk=pk)
    return render(request, "programme/visit.html", _visit_context(request, visit))


@login_required
@require_POST
def finding_answer(request, pk: int):
    _reader(request)
    finding = selectors.finding_get_for_user(user=request.user, pk=pk)
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, supervision.ANSWER_REQUIRED)
    else:
        try:
            supervision.finding_answer(
                actor=request.user, finding=finding, answer=form.cleaned_data["answer"]
            )
        except (ValidationError, PermissionDenied) as exc:
            _refused(request, exc)
        else:
            messages.success(request, "已报告整改情况，等待民政部门核验。")
    return redirect("programme:visit", pk=finding.visit_id)


def _verify(request, pk: int, *, accepted: bool):
    _manager(request)
    finding = selectors.finding_get_for_user(user=request.user, pk=pk)
    form = VerifyForm(request.POST)
    if form.is_valid():
        try:
            supervision.finding_verify(
                actor=request.user, finding=finding, accepted=accepted, note=form.cleaned_data["note"]
            )
        except (ValidationError, PermissionDenied) as exc:
            _refused(request, exc)
        else:
            messages.success(request, "整改已核验通过。" if accepted else "已退回，要求重新整改。")
    return redirect("programme:visit", pk=finding.visit_id)


@login_required
@require_POST
def finding_verify(request, pk: int):
    return _verify(request, pk, accepted=True)


@login_required
@require_POST
def finding_reopen(request, pk: int):
    return _verify(request, pk, accepted=False)


@login_required
@require_POST
def finding_photo_add(request, pk: int):
    _reader(request)
    finding = selectors.finding_get_for_user(user=request.user, pk=pk)
    form = PhotoForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    else:
        try:
            supervision.finding_photo_add(
                actor=request.user,
                finding=finding,
                image=form.cleaned_data["image"],
                caption=form.cleaned_data["caption"],
            )
        except (ValidationError, PermissionDenied) as exc:
            _refused(request, exc)
        else:
            messages.success(request, "已上传照片。")
    return redirect("programme:visit", pk=finding.visit_id)


@login_required
@require_GET
def finding_photo(request, pk: int):
    _reader(request)
    photo = selectors.finding_photo_get_for_user(user=request.user, pk=pk)
    return FileResponse(photo.image.open("rb"))


# ------------------------------------------------------------------ the year's assessment


@login_required
@require_GET
def assessment(request):
    _manager(request)
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        year = today.year
    year = min(max(year, 2000), today.year)
    context = {
        "year": year,
        "years": list(range(today.year, today.year - 5, -1)),
        "rows": standards_read.assessment(request.user, year=year),
        "labels": standards_read.assessment_labels(year),
        "version": standards_read.assessment_version(year),
    }
    return render(request, "programme/assessment.html", context)
