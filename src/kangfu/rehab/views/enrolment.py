"""From referral to being served: screening contacts and the decision, enrolment, the registration
form, the service agreement (printable, and its signed scan) and the intake interview.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import access, audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.models import AuditAction
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.services import enrolment
from kangfu.rehab.views.common import _case_errors, _handle, _own, _sites


@login_required
@require_POST
def case_contact(request, pk: int):
    case = _own(request, pk)
    form = f.ContactForm(request.POST)
    response = _handle(
        request,
        form,
        lambda d: enrolment.screening_contact(
            actor=request.user,
            case=case,
            data=enrolment.ContactData(
                contacted_on=d["contacted_on"],
                mode=d["mode"],
                reached=d["reached"],
                person_willing=f.ContactForm.willing(d["person_willing"]),
                guardian_willing=f.ContactForm.willing(d["guardian_willing"]),
                note=d["note"],
            ),
        ),
        "已记录联系情况。",
        ("rehab:case", case.pk),
    )
    return response or _case_errors(request, case, form)


@login_required
@require_POST
def case_decide(request, pk: int):
    case = _own(request, pk)
    form = f.DecideForm(request.POST)
    response = _handle(
        request,
        form,
        lambda d: enrolment.screening_decide(
            actor=request.user,
            case=case,
            eligible=d["eligible"],
            on=d["on"],
            note=d["note"],
            decline_reason=d["decline_reason"],
        ),
        "已记录筛查结论。",
        ("rehab:case", case.pk),
    )
    return response or _case_errors(request, case, form)


@login_required
def case_enrol(request, pk: int):
    case = _own(request, pk)
    form = f.EnrolForm(
        request.POST or None,
        request.FILES or None,
        instance=case,
        org_ids=access.rehab_org_ids(request.user),
        sites=_sites(request),
        initial={
            "worker": request.user.pk,
            "agreement_guardian": case.person.guardians.filter(is_guardian=True)
            .values_list("name", flat=True)
            .first()
            or "",
        },
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                enrolment.case_enrol(
                    actor=request.user,
                    # The case as stored: validating the form has written its values on `case`.
                    case=selectors.own_case(request.user, case.pk),
                    data=enrolment.EnrolmentData(
                        enrolled_on=d["enrolled_on"],
                        worker=d["worker"],
                        site=d["site"],
                        rights_explained_on=d["rights_explained_on"],
                        agreement_signed_on=d["agreement_signed_on"],
                        agreement_signer=d["agreement_signer"],
                        agreement_guardian=d["agreement_guardian"],
                        agreement_scan=d["agreement_scan"],
                        registration={k: d[k] for k in enrolment.REGISTRATION_FIELDS},
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已登记建档。下一步：入组面谈和基线评估。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request,
        "rehab/case_form.html",
        {"form": form, "case": case, "title": "登记建档（基本情况登记表、服务协议）", "multipart": True},
        status=status,
    )


@login_required
def case_registration(request, pk: int):
    case = _own(request, pk)
    form = f.RegistrationForm(request.POST or None, instance=case, initial={"version": case.version})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                enrolment.registration_update(
                    actor=request.user,
                    case=case,
                    values={k: form.cleaned_data[k] for k in enrolment.REGISTRATION_FIELDS},
                    expected_version=form.cleaned_data["version"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存基本情况登记表。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request,
        "rehab/case_form.html",
        {"form": form, "case": case, "title": "基本情况登记表"},
        status=status,
    )


@login_required
@require_GET
def case_registration_print(request, pk: int):
    """基本情况登记表 on paper: the person as the page shows them (numbers masked), the guardians, the
    registration and, for the clinical roles that read it, the diagnosis; lines to sign. Printing is a
    read of the record and is audited as one."""
    view = selectors.case_view(request.user, pk)
    if not view.sees("registration") or view.case.enrolled_on is None:
        raise Http404
    case = view.case
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=case,
        person_id=case.person_id,
        summary="打印基本情况登记表",
    )
    return render(
        request,
        "rehab/print_registration.html",
        {
            "case": case,
            "person": case.person,
            "guardians": [g for g in case.person.guardians.all() if g.is_guardian or g.is_carer],
            "clinical": access.policy(request.user).reads_clinical,
            "today": timezone.localdate(),
        },
    )


@login_required
def case_agreement(request, pk: int):
    """The printable service agreement, or the signed scan."""
    view = selectors.case_view(request.user, pk)
    if not view.full:
        raise Http404
    case = view.case
    if request.GET.get("scan"):
        if not case.agreement_scan:
            raise Http404
        audit.record(
            actor=request.user,
            action=AuditAction.VIEW,
            obj=case,
            person_id=case.person_id,
            summary="查看服务协议扫描件",
        )
        return FileResponse(
            case.agreement_scan.open("rb"), filename=case.agreement_scan.name.rsplit("/", 1)[-1]
        )
    if request.method == "POST":
        if view.why != "own":
            raise Http404
        form = f.ScanForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                enrolment.agreement_upload(actor=request.user, case=case, scan=form.cleaned_data["scan"])
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                messages.success(request, "已上传服务协议扫描件。")
        else:
            for message in form.errors.get("scan", []):
                messages.error(request, message)
        return redirect("rehab:case", pk=case.pk)
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=case,
        person_id=case.person_id,
        summary="打印服务协议",
    )
    return render(
        request,
        "rehab/print_agreement.html",
        {"case": case, "person": case.person, "today": timezone.localdate()},
    )


@login_required
def case_intake(request, pk: int):
    case = _own(request, pk)
    instance = selectors.intake_of(case)
    form = f.IntakeForm(
        request.POST or None, instance=instance, initial={"interviewed_on": timezone.localdate()}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                enrolment.intake_save(actor=request.user, case=case, values=form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存入组面谈记录。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request, "rehab/case_form.html", {"form": form, "case": case, "title": "入组面谈"}, status=status
    )
