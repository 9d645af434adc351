"""满意度: entering a paper survey form on a case, and the institution's figures for a year."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kangfu.core import audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.models import AuditAction
from kangfu.rehab import selectors_satisfaction
from kangfu.rehab.forms_aftercare import SatisfactionForm
from kangfu.rehab.services import satisfaction as survey_services
from kangfu.rehab.services.common import require_home
from kangfu.rehab.views.common import _own


def _year(value: str | None) -> int:
    this = timezone.localdate().year
    if value and value.isascii() and value.isdigit() and 2000 <= int(value) <= this:
        return int(value)
    return this


@login_required
def case_satisfaction(request, pk: int):
    case = _own(request, pk)
    form = SatisfactionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                survey_services.survey_record(
                    actor=request.user,
                    case=case,
                    data=survey_services.SurveyData(
                        filled_on=d["filled_on"],
                        respondent=d["respondent"],
                        scores=form.scores(),
                        comment=d["comment"],
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已录入满意度问卷。")
                return redirect("rehab:case_satisfaction", pk=case.pk)
        status = 400
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=case,
        person_id=case.person_id,
        summary="查看满意度问卷",
    )
    return render(
        request,
        "rehab/satisfaction_form.html",
        {"form": form, "case": case, "surveys": selectors_satisfaction.surveys_of(case)},
        status=status,
    )


@login_required
@require_GET
def satisfaction(request):
    require_home(request.user)
    year = _year(request.GET.get("year"))
    rows = list(
        selectors_satisfaction.surveys_for(request.user)
        .filter(year=year)
        .select_related("case__person", "by")
        .order_by("-filled_on", "-id")[:100]
    )
    audit.record_reads(
        actor=request.user, records=rows, person_of=lambda s: s.case.person_id, summary="查看满意度问卷列表"
    )
    return render(
        request,
        "rehab/satisfaction.html",
        {
            "rows": rows,
            "year": year,
            "years": range(timezone.localdate().year, timezone.localdate().year - 5, -1),
            "summary": selectors_satisfaction.year_summary(request.user, year),
        },
    )
