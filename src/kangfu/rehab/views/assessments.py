"""Assessments on a scale, and their corrections."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from kangfu.core.forms import apply_service_errors
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.services import assessments
from kangfu.rehab.services.common import require_home
from kangfu.rehab.views.common import _own


@login_required
def case_assess(request, pk: int, code: str):
    case = _own(request, pk)
    scale = selectors.current_scale(code)
    if scale is None:
        raise Http404
    age_warning = assessments.age_warning(scale, case, timezone.localdate())
    form_class = f.assessment_form_class(scale.definition, outside_ages=age_warning is not None)
    form = form_class(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                assessment = assessments.assessment_submit(
                    actor=request.user,
                    case=case,
                    scale=scale,
                    assessed_on=form.cleaned_data["assessed_on"],
                    answers=form.answers(),
                    informant=form.cleaned_data["informant"],
                    note=form.cleaned_data["note"],
                    outside_ages=form.cleaned_data.get("outside_ages", False),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"{scale.name}：{assessment.total} 分，{assessment.band_label}。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request,
        "rehab/assess.html",
        {"form": form, "case": case, "scale": scale, "title": scale.name, "age_warning": age_warning},
        status=status,
    )


@login_required
def assessment_amend(request, pk: int):
    require_home(request.user)
    original = get_object_or_404(
        selectors.assessments_for(request.user).select_related("scale", "case__person"), pk=pk
    )
    case = original.case
    form_class = f.assessment_form_class(original.scale.definition, amend=True)
    initial = {f"item_{k}": v for k, v in original.answers.items()}
    form = form_class(
        request.POST or None, initial={**initial, "informant": original.informant, "note": original.note}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                assessments.assessment_amend(
                    actor=request.user,
                    original=original,
                    answers=form.answers(),
                    reason=form.cleaned_data["amend_reason"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已更正评估，原记录保留。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request,
        "rehab/assess.html",
        {
            "form": form,
            "case": case,
            "scale": original.scale,
            "title": f"更正：{original.scale.name}（{original.assessed_on}）",
            "original": original,
        },
        status=status,
    )
