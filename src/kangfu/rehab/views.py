"""Pages of 精康: thin views over the selectors (what may be seen) and the services (what may change)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import access, audit
from kangfu.core.exports import xlsx_workbook
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_id_number
from kangfu.core.models import LEVEL_DIGITS, AuditAction, Organisation, OrganisationKind, RegionLevel
from kangfu.people.models import Person
from kangfu.people.services import id_hash
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.models import (
    ActivityPhoto,
    Application,
    ApplicationState,
    Assessment,
    Case,
    CaseStatus,
    EmploymentType,
    Placement,
    RosterImport,
    Scale,
    ServiceType,
    SharePart,
    StaffMember,
    Transfer,
)
from kangfu.rehab.services import activities as activity_services
from kangfu.rehab.services import applications as application_services
from kangfu.rehab.services import assessments, common, enrolment, placements, plans, rosters
from kangfu.rehab.services import cases as case_services
from kangfu.rehab.services import emergency as emergency_services
from kangfu.rehab.services import follow_ups as follow_up_services
from kangfu.rehab.services import institutions as institution_services
from kangfu.rehab.services import transfers as transfer_services

NOT_REGISTERED = "该身份证号未在一人一档中登记，请先登记人员。"
NO_RECORD = "没有找到该人员的精康档案。"
BAD_IDS = "所选的申请编号无效，请刷新页面后重新勾选。"
MAX_PK = 2**31 - 1  # PostgreSQL's integer column


def _date(value, default: dt.date | None = None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _pk(value: str | None) -> int | None:
    """A row number from a form or a query string, None for anything else: letters, a digit like
    '²' that str.isdigit accepts, or a number beyond the column, which the database would answer
    with an error rather than with nothing."""
    if value and value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PK:
        return int(value)
    return None


def _audit_read(request, obj, person_ids, summary: str) -> None:
    """One read entry per person shown, so that each person's trail lists who saw them."""
    audit.record_many(
        actor=request.user,
        action=AuditAction.VIEW,
        rows=[(obj, person_id) for person_id in sorted(set(person_ids))],
        summary=summary,
    )


def _service_data(cls, cleaned: dict):
    """A service's input dataclass from a form whose fields bear the same names."""
    return cls(
        **{field.name: cleaned[field.name] for field in dataclasses.fields(cls) if field.name in cleaned}
    )


def _person_by_id(user, number: str) -> Person | None:
    return access.scope_people(Person.objects.filter(id_number_hash=id_hash(number)), user).first()


# ------------------------------------------------------------------ home


@login_required
@require_GET
def home(request):
    rights = access.policy(request.user)
    if rights.runs_rehab:
        if access.rehab_home(request.user) is None:
            raise PermissionDenied(common.NOT_REHAB_STAFF)
        context = selectors.worklist(request.user)
        # Each row's number of contacts comes with the row, not from a query per row.
        context["screening"] = context["screening"].annotate(contact_count=Count("contacts"))
        context["home_org"] = access.rehab_home(request.user)
        context["status_labels"] = dict(CaseStatus.choices)
        return render(request, "rehab/home.html", context)
    if rights.rehab_intake:
        return render(request, "rehab/intake_home.html", selectors.intake_worklist(request.user))
    if rights.reads_rehab_stats:
        return redirect("rehab:stats")
    raise PermissionDenied(access.NOT_ALLOWED)


# ------------------------------------------------------------------ applications (civil affairs)


@login_required
def application_new(request):
    if not (access.policy(request.user).rehab_intake or access.policy(request.user).runs_rehab):
        raise PermissionDenied(access.NOT_ALLOWED)
    form = f.ApplicationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            person = _person_by_id(request.user, data["id_number"])
            if person is None:
                form.add_error("id_number", NOT_REGISTERED)
            else:
                try:
                    application = application_services.application_create(
                        actor=request.user,
                        person=person,
                        data=application_services.ApplicationData(
                            **{
                                k: data[k]
                                for k in (
                                    "source",
                                    "received_on",
                                    "applicant_name",
                                    "applicant_org",
                                    "applicant_phone",
                                    "reason",
                                )
                            }
                        ),
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    messages.success(
                        request, f"已受理 {person.name} 的申请，请在 {application.check_due} 前完成初核登记。"
                    )
                    if access.policy(request.user).rehab_intake:
                        return redirect("rehab:application", pk=application.pk)
                    return redirect("rehab:home")
        status = 400
    return render(request, "rehab/form.html", {"form": form, "title": "受理精康服务申请"}, status=status)


@login_required
@require_GET
def applications(request):
    access.require(request.user, "rehab_intake")
    state = request.GET.get("state") or ""
    rows = (
        selectors.applications_for(request.user)
        .select_related("person", "institution")
        .order_by("-received_on", "-id")
    )
    if state:
        rows = rows.filter(state=state)
    return render(
        request,
        "rehab/applications.html",
        {
            "rows": rows[:200],
            "state": state,
            "states": ApplicationState.choices,
            "today": timezone.localdate(),
            "institutions": selectors.institutions_for(request.user).filter(
                kind=OrganisationKind.REHAB_INSTITUTION
            ),
        },
    )


def _application(request, pk: int) -> Application:
    access.require(request.user, "rehab_intake")
    return access.get_in_scope(
        Application.objects.select_related("person", "institution"), request.user, prefix="person__", pk=pk
    )


def _institution_choices(user):
    """Institutions an application may be referred to: those of the user's district (a street
    officer refers to the district's institutions) or, for the city, of the city."""
    region = user.jurisdiction
    if region is None:
        return Organisation.objects.none()
    digits = min(LEVEL_DIGITS[RegionLevel(region.level)], 6)
    return Organisation.objects.filter(
        kind=OrganisationKind.REHAB_INSTITUTION, is_active=True, region__code__startswith=region.code[:digits]
    ).order_by("name")


@login_required
def application_detail(request, pk: int):
    application = _application(request, pk)
    refer_form = f.ReferForm(institutions=_institution_choices(request.user))
    reject_form = f.ReasonForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "register":
                application_services.application_register(actor=request.user, application=application)
                messages.success(request, "已初核登记。")
            elif action == "refer":
                refer_form = f.ReferForm(request.POST, institutions=_institution_choices(request.user))
                if not refer_form.is_valid():
                    raise ValidationError("请选择转介机构。")
                application_services.application_refer(
                    actor=request.user,
                    application=application,
                    institution=refer_form.cleaned_data["institution"],
                )
                messages.success(request, f"已转介至{refer_form.cleaned_data['institution'].name}。")
            elif action == "reject":
                reject_form = f.ReasonForm(request.POST)
                if not reject_form.is_valid():
                    raise ValidationError("请说明初核不符的原因。")
                application_services.application_reject(
                    actor=request.user, application=application, reason=reject_form.cleaned_data["reason"]
                )
                messages.success(request, "已记录初核不符。")
            else:
                raise Http404
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            status = 400
        else:
            return redirect("rehab:application", pk=application.pk)
        application.refresh_from_db()
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=application,
        person_id=application.person_id,
        summary="查看精康服务申请",
    )
    return render(
        request,
        "rehab/application.html",
        {
            "a": application,
            "refer_form": refer_form,
            "reject_form": reject_form,
            "today": timezone.localdate(),
            "masked_id": mask_id_number(application.person.id_number),
        },
        status=status,
    )


@login_required
@require_POST
def applications_refer(request):
    access.require(request.user, "rehab_intake")
    form = f.ReferForm(request.POST, institutions=_institution_choices(request.user))
    ids = [_pk(i) for i in request.POST.getlist("ids")]
    if None in ids:
        messages.error(request, BAD_IDS)
        return redirect("rehab:applications")
    if not form.is_valid() or not ids:
        messages.error(request, "请勾选待转介的申请并选择机构。")
        return redirect("rehab:applications")
    scoped = list(selectors.applications_for(request.user).filter(pk__in=ids).values_list("pk", flat=True))
    try:
        n = application_services.applications_refer(
            actor=request.user, ids=scoped, institution=form.cleaned_data["institution"]
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"已将 {n} 份申请转介至{form.cleaned_data['institution'].name}。")
    return redirect(f"{request.path.rsplit('/', 2)[0]}/?state=registered")


# ------------------------------------------------------------------ rosters


@login_required
def roster_upload(request):
    access.require(request.user, "rehab_intake")
    form = f.RosterForm(request.POST or None, request.FILES or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                roster = rosters.roster_preview(
                    actor=request.user,
                    district=form.cleaned_data["district"],
                    source=form.cleaned_data["source"],
                    file_name=upload.name,
                    raw=upload.read(),
                    received_on=form.cleaned_data["received_on"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("rehab:roster", pk=roster.pk)
        status = 400
    recent = RosterImport.objects.filter(access.district_q(request.user)).defer("content")[:20]
    return render(request, "rehab/rosters.html", {"form": form, "recent": recent}, status=status)


@login_required
def roster_detail(request, pk: int):
    access.require(request.user, "rehab_intake")
    roster = get_object_or_404(
        RosterImport.objects.filter(access.district_q(request.user)).defer("content"), pk=pk
    )
    if request.method == "POST":
        try:
            if request.POST.get("action") == "confirm":
                roster = rosters.roster_confirm(
                    actor=request.user, roster=RosterImport.objects.get(pk=roster.pk)
                )
                r = roster.result
                messages.success(
                    request,
                    f"已导入：新登记 {r['created']} 人，已在册 {r['linked']} 人，跳过 {r['skipped']} 行，有误 {r['errors']} 行未导入。",
                )
            else:
                rosters.roster_discard(actor=request.user, roster=roster)
                messages.success(request, "已放弃导入。")
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        return redirect("rehab:roster", pk=roster.pk)
    return render(request, "rehab/roster.html", {"r": roster})


# ------------------------------------------------------------------ cases


@login_required
@require_GET
def cases(request):
    common.require_home(request.user)
    rows = selectors.cases_for(request.user).select_related("person", "worker", "site").order_by("-id")
    status = request.GET.get("status") or ""
    q = (request.GET.get("q") or "").strip()
    if status:
        rows = rows.filter(status=status)
    if q:
        rows = rows.filter(person__name__startswith=q)
    if request.GET.get("mine"):
        rows = rows.filter(worker=request.user)
    return render(
        request,
        "rehab/cases.html",
        {
            "rows": rows[:200],
            "status": status,
            "statuses": CaseStatus.choices,
            "q": q,
            "today": timezone.localdate(),
        },
    )


def _case_context(request, view: selectors.CaseView) -> dict:
    case = view.case
    context = {
        "v": view,
        "case": case,
        "person": case.person,
        "masked_id": mask_id_number(case.person.id_number),
        "parts": view.parts,
        "part_labels": [label for value, label in SharePart.choices if value in view.parts],
        "today": timezone.localdate(),
        "scales": Scale.objects.filter(is_current=True).order_by("code"),
    }
    if view.full:
        context.update(
            contacts=case.contacts.all(),
            events=case.events.select_related("by"),
            transfers=case.transfers_out.select_related("to_org"),
            placements=case.placements.all(),
            attendances=case.attendances.filter(is_family=False)
            .select_related("activity")
            .order_by("-activity__held_on")[:30],
            attendance_total=case.attendances.filter(is_family=False).count(),
            plans=case.plans.prefetch_related("goals", "services__worker"),
            intake=getattr(case, "intake", None) if hasattr(case, "intake") else None,
        )
    if view.sees(SharePart.ASSESSMENTS):
        context["outcomes"] = selectors.outcomes_of(case)
        context["assessments"] = case.assessments.select_related("scale", "by", "amends").order_by(
            "-assessed_on", "-id"
        )
    if view.sees(SharePart.PLAN):
        context["plan"] = (
            case.plans.filter(is_current=True).prefetch_related("goals", "services__worker").first()
        )
    if view.sees(SharePart.FOLLOW_UPS):
        context["follow_ups"] = case.follow_ups.select_related("by")[:20]
    if view.sees(SharePart.INTAKE):
        context["intake"] = (
            getattr(case, "intake", None)
            if Case.objects.filter(pk=case.pk, intake__isnull=False).exists()
            else None
        )
    return context


@login_required
@require_GET
def case_detail(request, pk: int):
    view = selectors.case_view(request.user, pk)
    summary = {"own": "查看精康档案", "transfer": "查看转介共享的精康档案", "emergency": "紧急查阅精康档案"}[
        view.why
    ]
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=view.case,
        person_id=view.case.person_id,
        summary=summary,
    )
    context = _case_context(request, view)
    if view.why == "own":
        context["contact_form"] = f.ContactForm()
        context["decide_form"] = f.DecideForm()
        context["status_form"] = f.StatusForm()
    return render(request, "rehab/case.html", context)


def _own(request, pk: int) -> Case:
    common.require_home(request.user)
    return selectors.own_case(request.user, pk)


def _handle(request, form, action, success: str, redirect_to):
    """Run a service for a valid form; on a refusal put its message on the form."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect(*redirect_to)
    return None


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


def _case_errors(request, case: Case, form) -> HttpResponse:
    for field, errors in form.errors.items():
        for message in errors:
            messages.error(
                request, message if field == "__all__" else f"{form.fields[field].label}：{message}"
            )
    return redirect("rehab:case", pk=case.pk)


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
@require_POST
def case_status(request, pk: int):
    case = _own(request, pk)
    form = f.StatusForm(request.POST)

    def act(d):
        if d["action"] == "suspend":
            case_services.case_suspend(actor=request.user, case=case, on=d["on"], reason=d["note"])
        elif d["action"] == "resume":
            case_services.case_resume(actor=request.user, case=case, on=d["on"])
        else:
            case_services.case_discharge(
                actor=request.user, case=case, on=d["on"], reason=d["reason"], note=d["note"]
            )

    response = _handle(request, form, act, "已更新服务状态。", ("rehab:case", case.pk))
    return response or _case_errors(request, case, form)


def _sites(request):
    home = access.rehab_home(request.user)
    return Organisation.objects.filter(parent=home, kind=OrganisationKind.REHAB_SITE)


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
                    case=Case.objects.get(pk=case.pk),
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
    instance = (
        getattr(case, "intake", None) if Case.objects.filter(pk=pk, intake__isnull=False).exists() else None
    )
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


@login_required
def case_assess(request, pk: int, code: str):
    case = _own(request, pk)
    scale = Scale.objects.filter(code=code, is_current=True).first()
    if scale is None:
        raise Http404
    form_class = f.assessment_form_class(scale.definition)
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
        {"form": form, "case": case, "scale": scale, "title": scale.name},
        status=status,
    )


@login_required
def assessment_amend(request, pk: int):
    common.require_home(request.user)
    original = get_object_or_404(
        Assessment.objects.filter(access.case_q(request.user, prefix="case__")).select_related(
            "scale", "case__person"
        ),
        pk=pk,
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


@login_required
def case_plan(request, pk: int):
    case = _own(request, pk)
    workers = f._StaffChoices.workers(access.rehab_org_ids(request.user))
    current = case.plans.filter(is_current=True).prefetch_related("goals", "services").first()
    goal_initial = [{"problem": g.problem, "goal": g.goal} for g in current.goals.all()] if current else []
    service_initial = (
        [
            {
                "service_type": s.service_type,
                "times": s.times,
                "per": s.per,
                "place": s.place,
                "worker": s.worker_id,
            }
            for s in current.services.all()
        ]
        if current
        else []
    )
    if not goal_initial:
        goal_initial = [
            {"problem": f"{o['name']}：{o['latest'].band_label}", "goal": ""}
            for o in selectors.outcomes_of(case)
            if o["code"] != "risk"
        ][:4]
    form = f.PlanForm(
        request.POST or None,
        initial={
            "review_on": timezone.localdate() + dt.timedelta(days=90),
            "summary": current.summary if current else "",
        },
    )
    goals = f.GoalFormSet(request.POST or None, prefix="goals", initial=goal_initial)
    plan_services = f.PlanServiceFormSet(
        request.POST or None, prefix="services", initial=service_initial, form_kwargs={"workers": workers}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid() and goals.is_valid() and plan_services.is_valid():
            try:
                plans.plan_create(
                    actor=request.user,
                    case=case,
                    data=plans.PlanData(
                        starts_on=form.cleaned_data["starts_on"],
                        review_on=form.cleaned_data["review_on"],
                        summary=form.cleaned_data["summary"],
                        goals=[g.cleaned_data for g in goals if g.cleaned_data.get("goal")],
                        services=[
                            s.cleaned_data for s in plan_services if s.cleaned_data.get("service_type")
                        ],
                        basis=list(
                            case.assessments.filter(amended_by__isnull=True).values_list("pk", flat=True)
                        ),
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存康复计划。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request,
        "rehab/plan_form.html",
        {"form": form, "goals": goals, "services": plan_services, "case": case, "current": current},
        status=status,
    )


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
def case_transfer(request, pk: int):
    case = _own(request, pk)
    form = f.TransferForm(request.POST or None, targets=selectors.referral_targets(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                transfer_services.transfer_send(
                    actor=request.user,
                    person=case.person,
                    case=case,
                    data=_service_data(transfer_services.TransferData, d),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已发出转介至{d['to_org'].name}。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request, "rehab/case_form.html", {"form": form, "case": case, "title": "转介"}, status=status
    )


@login_required
def case_placement(request, pk: int, placement: int | None = None):
    case = _own(request, pk)
    instance = get_object_or_404(Placement, pk=placement, case=case) if placement else None
    form = f.PlacementForm(request.POST or None, instance=instance)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                placements.placement_save(
                    actor=request.user,
                    case=case,
                    placement=instance,
                    data=placements.PlacementData(
                        **{k: form.cleaned_data[k] for k in f.PlacementForm.Meta.fields}
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存就业安置。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request, "rehab/case_form.html", {"form": form, "case": case, "title": "就业安置"}, status=status
    )


# ------------------------------------------------------------------ activities


def _served_cases(request):
    return (
        selectors.cases_for(request.user)
        .filter(status__in=[CaseStatus.ENROLLED, CaseStatus.ACTIVE])
        .select_related("person")
        .order_by("person__name")
    )


@login_required
@require_GET
def activities(request):
    common.require_home(request.user)
    rows = selectors.activities_for(request.user).select_related("leader", "site")
    kind = request.GET.get("service_type") or ""
    if kind:
        rows = rows.filter(service_type=kind)
    return render(
        request, "rehab/activities.html", {"rows": rows[:200], "kind": kind, "types": ServiceType.choices}
    )


@login_required
def activity_new(request):
    common.require_home(request.user)
    cases_qs = _served_cases(request)
    form = f.ActivityRecordForm(request.POST or None, cases=cases_qs, sites=_sites(request))
    family = f.FamilyFormSet(request.POST or None, prefix="family", form_kwargs={"cases": cases_qs})
    status = 200
    if request.method == "POST":
        if form.is_valid() and family.is_valid():
            d = form.cleaned_data
            try:
                activity = activity_services.activity_record(
                    actor=request.user,
                    data=activity_services.ActivityData(
                        form=d["form"],
                        service_type=d["service_type"],
                        mode=d["mode"],
                        title=d["title"],
                        held_on=d["held_on"],
                        place=d["place"],
                        content=d["content"],
                        site=d["site"],
                        patients=[c.pk for c in d["patients"]],
                        family=[
                            {
                                "case": g.cleaned_data["case"].pk,
                                "name": g.cleaned_data["name"],
                                "relation": g.cleaned_data["relation"],
                            }
                            for g in family
                            if g.cleaned_data.get("case")
                        ],
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"已登记“{activity.title}”：患者 {activity.patients} 人次，家属 {activity.family} 人次。",
                )
                return redirect("rehab:activity", pk=activity.pk)
        else:
            for fs_form in family:
                for message in fs_form.non_field_errors():
                    form.add_error(None, message)
        status = 400
    return render(request, "rehab/activity_form.html", {"form": form, "family": family}, status=status)


@login_required
def activity_detail(request, pk: int):
    common.require_home(request.user)
    activity = get_object_or_404(
        selectors.activities_for(request.user).select_related("leader", "site"), pk=pk
    )
    photo_form = f.PhotoForm()
    if request.method == "POST":
        photo_form = f.PhotoForm(request.POST, request.FILES)
        if photo_form.is_valid():
            activity_services.activity_photo_add(
                actor=request.user,
                activity=activity,
                image=photo_form.cleaned_data["image"],
                caption=photo_form.cleaned_data["caption"],
            )
            messages.success(request, "已上传照片。")
            return redirect("rehab:activity", pk=activity.pk)
    attendances = list(activity.attendances.select_related("case__person").order_by("is_family", "id"))
    _audit_read(request, activity, [a.case.person_id for a in attendances], f"查看服务活动“{activity.title}”")
    return render(
        request,
        "rehab/activity.html",
        {
            "a": activity,
            "attendances": attendances,
            "photo_form": photo_form,
            "photos": activity.photos.all(),
        },
        status=400 if photo_form.errors else 200,
    )


@login_required
@require_GET
def activity_photo(request, pk: int):
    common.require_home(request.user)
    photo = get_object_or_404(
        ActivityPhoto.objects.filter(activity__in=selectors.activities_for(request.user)).select_related(
            "activity"
        ),
        pk=pk,
    )
    # A photo shows the people who attended: each of them has it on their trail.
    _audit_read(
        request,
        photo,
        photo.activity.attendances.values_list("case__person_id", flat=True),
        f"查看服务活动照片“{photo.activity.title}”",
    )
    return FileResponse(photo.image.open("rb"))


# ------------------------------------------------------------------ follow-up worklist


@login_required
@require_GET
def follow_ups(request):
    common.require_home(request.user)
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
    return render(request, "rehab/follow_ups.html", {"rows": rows[:300], "today": today, "until": horizon})


# ------------------------------------------------------------------ referrals


@login_required
@require_GET
def transfers(request):
    common.require_home(request.user)
    return render(
        request,
        "rehab/transfers.html",
        {
            "incoming": selectors.transfers_in(request.user).select_related("person", "from_org")[:100],
            "outgoing": selectors.transfers_out(request.user).select_related("person", "to_org")[:100],
            "today": timezone.localdate(),
        },
    )


@login_required
def transfer_new(request):
    """A referral of a patient who has no case here (a hospital's patient to community rehab)."""
    common.require_home(request.user)
    form = f.PersonTransferForm(request.POST or None, targets=selectors.referral_targets(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            person = _person_by_id(request.user, d["id_number"])
            if person is None:
                form.add_error("id_number", NOT_REGISTERED)
            else:
                try:
                    transfer = transfer_services.transfer_send(
                        actor=request.user,
                        person=person,
                        data=_service_data(transfer_services.TransferData, d),
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    messages.success(request, f"已发出转介至{transfer.to_org.name}。")
                    return redirect("rehab:transfer", pk=transfer.pk)
        status = 400
    return render(request, "rehab/form.html", {"form": form, "title": "发起转介"}, status=status)


def _transfer(request, pk: int) -> Transfer:
    common.require_home(request.user)
    ids = access.rehab_org_ids(request.user)
    transfer = get_object_or_404(
        Transfer.objects.select_related("person", "from_org", "to_org", "case"), pk=pk
    )
    if transfer.from_org_id in ids:
        return transfer
    # The receiver sees a referral while it waits or once accepted; never after declining it.
    if transfer.to_org_id in ids and transfer.state in selectors.VISIBLE_TRANSFER_STATES:
        return transfer
    raise Http404("未找到该记录。")


@login_required
def transfer_detail(request, pk: int):
    transfer = _transfer(request, pk)
    ids = access.rehab_org_ids(request.user)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                transfer_services.transfer_accept(actor=request.user, transfer=transfer)
                messages.success(request, "已接收转介。")
            elif action == "decline":
                transfer_services.transfer_decline(
                    actor=request.user, transfer=transfer, reason=request.POST.get("reason", "")
                )
                messages.success(request, "已拒绝转介。")
            elif action == "cancel":
                transfer_services.transfer_cancel(actor=request.user, transfer=transfer)
                messages.success(request, "已撤回转介。")
            elif action == "complete":
                transfer_services.transfer_complete(actor=request.user, transfer=transfer)
                messages.success(request, "已确认转介完成。")
            else:
                raise Http404
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        if action == "decline" and transfer.to_org_id in ids:
            return redirect("rehab:transfers")
        return redirect("rehab:transfer", pk=transfer.pk)
    sender = transfer.from_org_id in ids
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=transfer,
        person_id=transfer.person_id,
        summary="查看转介",
    )
    return render(
        request,
        "rehab/transfer.html",
        {
            "t": transfer,
            "sender": sender,
            "answers": (transfer.to_org_id in ids)
            or (sender and transfer.to_org.kind == OrganisationKind.EMPLOYER),
            "shared_labels": [SharePart(p).label for p in transfer.shared],
            "employment_label": dict(EmploymentType.choices).get(transfer.employment_type, ""),
            "today": timezone.localdate(),
            "masked_id": mask_id_number(transfer.person.id_number),
        },
    )


# ------------------------------------------------------------------ break the glass


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
            person = Person.objects.filter(id_number_hash=id_hash(number)).first()
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


# ------------------------------------------------------------------ institutions and staff


@login_required
@require_GET
def institutions(request):
    rights = access.policy(request.user)
    if not (rights.runs_rehab or rights.rehab_intake or rights.reads_rehab_stats):
        raise PermissionDenied(access.NOT_ALLOWED)
    year = timezone.localdate().year
    orgs = list(
        selectors.institutions_for(request.user).select_related("rehab_profile").order_by("region_id", "name")
    )
    staff = list(
        StaffMember.objects.filter(organisation__in=orgs, left_on__isnull=True).values_list(
            "pk", "organisation_id", "direct_service"
        )
    )
    hours = selectors.training_hours([s[0] for s in staff], year)
    per_org: dict[int, dict] = {}
    for pk, org_id, direct in staff:
        row = per_org.setdefault(org_id, {"staff": 0, "short": 0})
        row["staff"] += 1
        if direct and hours.get(pk, Decimal(0)) < selectors.TRAINING_HOURS_REQUIRED:
            row["short"] += 1
    rows = [(o, per_org.get(o.pk, {"staff": 0, "short": 0})) for o in orgs]
    return render(request, "rehab/institutions.html", {"rows": rows, "year": year})


def _institution(request, pk: int) -> Organisation:
    org = get_object_or_404(selectors.institutions_for(request.user), pk=pk)
    return org


@login_required
def institution_detail(request, pk: int):
    org = _institution(request, pk)
    year = timezone.localdate().year
    profile = getattr(org, "rehab_profile", None) if hasattr(org, "rehab_profile") else None
    may_edit = org.pk in access.rehab_org_ids(request.user) or access.policy(request.user).rehab_intake
    profile_form = f.ProfileForm(
        initial={
            "level": profile.level,
            "services": profile.services,
            "capacity": profile.capacity,
            "opened_on": profile.opened_on,
            "note": profile.note,
        }
        if profile
        else {"capacity": 0}
    )
    staff_form = f.StaffForm()
    staff_qs = StaffMember.objects.filter(organisation=org)
    status = 200
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(access.NOT_ALLOWED)
        action = request.POST.get("action")
        if action == "profile":
            profile_form = f.ProfileForm(request.POST)
            if profile_form.is_valid():
                institution_services.institution_profile_save(
                    actor=request.user, organisation=org, values=profile_form.cleaned_data
                )
                messages.success(request, "已保存机构登记信息。")
                return redirect("rehab:institution", pk=org.pk)
        elif action == "staff":
            staff_form = f.StaffForm(request.POST)
            if staff_form.is_valid():
                institution_services.staff_save(
                    actor=request.user, organisation=org, values=staff_form.cleaned_data
                )
                messages.success(request, "已添加专业人员。")
                return redirect("rehab:institution", pk=org.pk)
        elif action == "training":
            form = f.TrainingForm(request.POST, staff=staff_qs)
            if form.is_valid():
                d = form.cleaned_data
                staff = d["staff"]
                try:
                    institution_services.training_add(
                        actor=request.user,
                        staff=staff,
                        held_on=d["held_on"],
                        hours=d["hours"],
                        topic=d["topic"],
                        provider=d["provider"],
                    )
                except ValidationError as exc:
                    for message in exc.messages:
                        messages.error(request, message)
                else:
                    messages.success(request, f"已登记 {staff.name} 的培训。")
                    return redirect("rehab:institution", pk=org.pk)
            else:
                for errors in form.errors.values():
                    for message in errors:
                        messages.error(request, message)
        status = 400
    staff = list(staff_qs.order_by("left_on", "name"))
    hours = selectors.training_hours([s.pk for s in staff], year)
    # A training form per row, with its own ids, naming its staff member.
    rows = [
        (
            s,
            hours.get(s.pk, Decimal(0)),
            f.TrainingForm(staff=staff_qs, initial={"staff": s.pk}, auto_id=f"id_training{s.pk}_%s"),
        )
        for s in staff
    ]
    return render(
        request,
        "rehab/institution.html",
        {
            "org": org,
            "profile": profile,
            "rows": rows,
            "year": year,
            "required": selectors.TRAINING_HOURS_REQUIRED,
            "profile_form": profile_form,
            "staff_form": staff_form,
            "may_edit": may_edit,
            "service_labels": dict(ServiceType.choices),
        },
        status=status,
    )


# ------------------------------------------------------------------ statistics


def _stats_access(request) -> Organisation | None:
    rights = access.policy(request.user)
    if not (rights.reads_rehab_stats or rights.runs_rehab or rights.rehab_intake):
        raise PermissionDenied(access.NOT_ALLOWED)
    institution = None
    if request.GET.get("institution"):
        pk = _pk(request.GET["institution"])
        if pk is None:
            raise Http404
        institution = _institution(request, pk)
        if not rights.reads_rehab_stats and institution.pk not in access.rehab_org_ids(request.user):
            raise Http404
    return institution


@login_required
@require_GET
def stats(request):
    institution = _stats_access(request)
    status = 200
    try:
        year = f.stats_year(request.GET.get("year"))
    except ValidationError as exc:
        # The page of the current year, with the reason, rather than an error page; never an export.
        messages.error(request, exc.messages[0])
        year, status = timezone.localdate().year, 400
    figures = selectors.stats(request.user, year=year, institution=institution)
    tables = _stats_tables(figures)
    if request.GET.get("export") == "xlsx" and status == 200:
        audit.record(
            actor=request.user,
            action=AuditAction.EXPORT,
            object_type="rehab.statistics",
            summary=f"导出 {year} 年精康统计",
        )
        content = xlsx_workbook([(t["title"], t["header"], t["rows"]) for t in tables])
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="rehab-{year}.xlsx"'
        return response
    labels = [f"{m}月" for m in range(1, 13)]
    charts = {
        "flow": {
            "labels": labels,
            "series": [
                {"name": "转介", "values": figures["flow"]["referred"]},
                {"name": "筛查", "values": figures["flow"]["screened"]},
                {"name": "建档", "values": figures["flow"]["enrolled"]},
                {"name": "结案", "values": figures["flow"]["discharged"]},
            ],
        },
        "times": {
            "labels": labels,
            "series": [
                {"name": "活动（次）", "values": figures["activities"]},
                {"name": "患者（人次）", "values": figures["patient_times"]},
                {"name": "家属（人次）", "values": figures["family_times"]},
            ],
        },
        "by_type": {
            "labels": [r["label"] for r in figures["by_type"]],
            "values": [r["patient_times"] for r in figures["by_type"]],
        },
        "follow_ups": {
            "labels": labels,
            "series": [
                {"name": "完成随访", "values": figures["follow_ups_done"]},
                {"name": "其中逾期完成", "values": figures["follow_ups_late"]},
            ],
        },
        "outcomes": {
            "labels": [o["name"] for o in figures["outcomes"]],
            "values": [o["improved"] for o in figures["outcomes"]],
        },
    }
    return render(
        request,
        "rehab/stats.html",
        {
            "f": figures,
            "charts": charts,
            "tables": tables,
            "years": f.year_choices(),
            "institution": institution,
            "institutions": selectors.institutions_for(request.user).filter(
                kind=OrganisationKind.REHAB_INSTITUTION
            ),
        },
        status=status,
    )


def _stats_tables(figures: dict) -> list[dict]:
    months = [f"{m}月" for m in range(1, 13)]
    flow = figures["flow"]
    tables = [
        {
            "title": "服务对象流转",
            "header": ["月份", "转介", "筛查", "建档", "结案"],
            "rows": [
                [
                    months[i],
                    flow["referred"][i],
                    flow["screened"][i],
                    flow["enrolled"][i],
                    flow["discharged"][i],
                ]
                for i in range(12)
            ],
        },
        {
            "title": "当前状态",
            "header": ["状态", "人数"],
            "rows": [[k, v] for k, v in figures["status_counts"].items()],
        },
        {
            "title": "结案原因",
            "header": ["原因", "人数"],
            "rows": [[r["label"], r["n"]] for r in figures["discharged"]],
        },
        {
            "title": "按服务类型",
            "header": ["服务类型", "活动（次）", "患者（人次）", "家属（人次）"],
            "rows": [
                [r["label"], r["activities"], r["patient_times"], r["family_times"]]
                for r in figures["by_type"]
            ],
        },
        {
            "title": "按月服务量",
            "header": ["月份", "活动（次）", "患者（人次）", "家属（人次）", "完成随访", "逾期完成随访"],
            "rows": [
                [
                    months[i],
                    figures["activities"][i],
                    figures["patient_times"][i],
                    figures["family_times"][i],
                    figures["follow_ups_done"][i],
                    figures["follow_ups_late"][i],
                ]
                for i in range(12)
            ],
        },
        {
            "title": "随访和转介",
            "header": ["项目", "数量"],
            "rows": [
                ["随访已逾期（人）", figures["follow"]["overdue"]],
                ["7 日内应随访（人）", figures["follow"]["due"]],
                ["转介待接收", figures["transfers"]["sent"]],
                ["转介超时未接收", figures["transfers"]["overdue"]],
                ["转介已接收", figures["transfers"]["accepted"]],
                ["转介已拒绝", figures["transfers"]["declined"]],
                ["转介已完成", figures["transfers"]["completed"]],
            ],
        },
        {
            "title": "就业安置",
            "header": ["就业类型", "在岗人数"],
            "rows": [[label, figures["placements"].get(value, 0)] for value, label in EmploymentType.choices],
        },
        {
            "title": "康复效果",
            "header": ["量表", "改善", "无变化", "变差"],
            "rows": [[o["name"], o["improved"], o["unchanged"], o["worse"]] for o in figures["outcomes"]],
        },
    ]
    if figures["registered"] is not None:
        tables.append(
            {
                "title": "规范服务覆盖率",
                "header": ["在册患者（名单）", "其中近 90 天接受服务", "覆盖率（%）", "年度目标（%）"],
                "rows": [
                    [
                        figures["registered"],
                        figures["follow"]["covered"],
                        "—" if figures["coverage"] is None else figures["coverage"],
                        figures["target"] or "",
                    ]
                ],
            }
        )
    return tables
