"""Break the glass: a clinician's emergency access to a record outside their scope."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render

from kangfu.core import access, audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction
from kangfu.people.selectors import person_by_id_number
from kangfu.rehab import forms as f
from kangfu.rehab.services import emergency as emergency_services

NO_RECORD = "没有找到该人员的精康档案。"


@login_required
def emergency(request):
    if not access.policy(request.user).reads_clinical or access.rehab_home(request.user) is None:
        raise PermissionDenied(emergency_services.EMERGENCY_NOT_CLINICAL)
    form = f.EmergencyForm(request.POST or None)
    found = None
    status = 200
    if request.method == "POST":
        # The form checks the reason first: nobody is looked up without one.
        if form.is_valid():
            number, reason = form.cleaned_data["id_number"], form.cleaned_data["reason"]
            person = person_by_id_number(number)  # unscoped: break-the-glass, audited
            if person is None or not person.rehab_cases.exists():
                # One answer for "no such person" and "no such record", and the attempt on the trail,
                # so that looking for who has a record is seen by the auditor.
                audit.record(
                    actor=request.user,
                    action=AuditAction.VIEW,
                    object_type="rehab.emergencyaccess",
                    person_id=person.pk if person else None,
                    summary=f"紧急查阅未找到精康档案（{mask_id_number(number)}）：{reason}",
                )
                form.add_error("id_number", NO_RECORD)
            else:
                try:
                    emergency_services.emergency_open(
                        actor=request.user, person=person, reason=form.cleaned_data["reason"]
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    found = person.rehab_cases.select_related("institution").order_by("-id")
                    messages.warning(
                        request,
                        f"已开启紧急查阅，{emergency_services.EMERGENCY_HOURS} 小时内有效；已记入审计日志并告知服务机构。",
                    )
        if found is None:
            status = 400
    return render(request, "rehab/emergency.html", {"form": form, "found": found}, status=status)
