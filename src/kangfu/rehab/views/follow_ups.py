"""Recording a follow-up, and the worklist of follow-ups falling due."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kangfu.core import audit
from kangfu.core.forms import apply_service_errors
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.models import CaseStatus
from kangfu.rehab.services import follow_ups as follow_up_services
from kangfu.rehab.services.common import require_home
from kangfu.rehab.views.common import _own, _service_data


def _date(value, default: dt.date | None = None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


@login_required
def case_follow_up(request, pk: int):
    case = _own(request, pk)
    form = f.FollowUpForm(
        request.POST or None,
        initial={"risk_level": case.risk_level or 0, "stability": case.stability or "stable"},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                follow_up = follow_up_services.follow_up_record(
                    actor=request.user,
                    case=case,
                    data=_service_data(follow_up_services.FollowUpData, d),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"已记录随访（{follow_up.get_stability_display()}），下次随访 {follow_up.next_on}。",
                )
                if follow_up.stability == "unstable":
                    messages.warning(
                        request, "病情不稳定：请立即转诊到精神卫生医疗机构（发起“复发转医院”转介）。"
                    )
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request, "rehab/case_form.html", {"form": form, "case": case, "title": "随访"}, status=status
    )


@login_required
@require_GET
def follow_ups(request):
    require_home(request.user)
    today = timezone.localdate()
    rows = (
        selectors.cases_for(request.user)
        .filter(
            status__in=[CaseStatus.ENROLLED, CaseStatus.ACTIVE, CaseStatus.SUSPENDED],
            next_follow_up_on__isnull=False,
        )
        .select_related("person", "worker")
        .order_by("next_follow_up_on")
    )
    if request.GET.get("mine"):
        rows = rows.filter(worker=request.user)
    horizon = _date(request.GET.get("until"), today + dt.timedelta(days=14))
    rows = rows.filter(next_follow_up_on__lte=horizon)
    shown = list(rows[:300])
    audit.record_reads(
        actor=request.user, records=shown, person_of=lambda c: c.person_id, summary="查看随访清单"
    )
    return render(request, "rehab/follow_ups.html", {"rows": shown, "today": today, "until": horizon})
