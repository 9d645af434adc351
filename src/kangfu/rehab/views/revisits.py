"""回访 after closure: recording a contact on a closed case, and the worklist of contacts due."""

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
from kangfu.core.models import AuditAction
from kangfu.rehab import selectors_revisits
from kangfu.rehab.forms_aftercare import RevisitForm
from kangfu.rehab.services import revisits as revisit_services
from kangfu.rehab.services.common import require_home
from kangfu.rehab.views.common import _own, _service_data


def _date(value, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


@login_required
def case_revisit(request, pk: int):
    case = _own(request, pk)
    form = RevisitForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                revisit = revisit_services.revisit_record(
                    actor=request.user,
                    case=case,
                    data=_service_data(revisit_services.RevisitData, form.cleaned_data),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已记录{revisit.get_round_display()}的回访。")
                if revisit.relapsed or revisit.readmitted:
                    messages.warning(
                        request, "结案后复发或再次住院：如本人愿意，可重新申请纳入社区康复服务。"
                    )
                return redirect("rehab:case_revisit", pk=case.pk)
        status = 400
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=case,
        person_id=case.person_id,
        summary="查看结案回访",
    )
    return render(
        request,
        "rehab/revisit_form.html",
        {
            "form": form,
            "case": case,
            "owed": revisit_services.revisit_owed(case),
            "schedule": selectors_revisits.revisit_schedule(case),
            "today": timezone.localdate(),
        },
        status=status,
    )


@login_required
@require_GET
def revisits(request):
    require_home(request.user)
    today = timezone.localdate()
    until = _date(request.GET.get("until"), today + dt.timedelta(days=14))
    rows = selectors_revisits.revisits_due(request.user, until=until, mine=bool(request.GET.get("mine")))
    audit.record_reads(
        actor=request.user,
        records=list({r.case.pk: r.case for r in rows}.values()),
        person_of=lambda c: c.person_id,
        summary="查看回访清单",
    )
    return render(request, "rehab/revisits.html", {"rows": rows, "today": today, "until": until})
