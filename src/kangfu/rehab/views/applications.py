"""Applications (civil affairs): receiving one, the list, checking, registering, referring, rejecting."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import access, audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction, OrganisationKind
from kangfu.people.selectors import person_by_id_number
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.models import Application, ApplicationState
from kangfu.rehab.services import applications as application_services
from kangfu.rehab.views.common import NOT_REGISTERED, _pk

BAD_IDS = "所选的申请编号无效，请刷新页面后重新勾选。"


@login_required
def application_new(request):
    if not (access.policy(request.user).rehab_intake or access.policy(request.user).runs_rehab):
        raise PermissionDenied(access.NOT_ALLOWED)
    form = f.ApplicationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            person = person_by_id_number(data["id_number"], user=request.user, to_act=True)
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
    return selectors.application_for(request.user, pk)


@login_required
def application_detail(request, pk: int):
    application = _application(request, pk)
    refer_form = f.ReferForm(institutions=selectors.referral_institutions(request.user))
    reject_form = f.ReasonForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "register":
                application_services.application_register(actor=request.user, application=application)
                messages.success(request, "已初核登记。")
            elif action == "refer":
                refer_form = f.ReferForm(
                    request.POST, institutions=selectors.referral_institutions(request.user)
                )
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
    form = f.ReferForm(request.POST, institutions=selectors.referral_institutions(request.user))
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
