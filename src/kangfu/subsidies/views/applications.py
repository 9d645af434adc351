"""Pages of 两项补贴 applications: the worklist home, the list, the counter form, one application and its steps."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_account, mask_id_number, mask_phone
from kangfu.core.models import AuditAction
from kangfu.subsidies import selectors
from kangfu.subsidies.filters import ApplicationFilter
from kangfu.subsidies.forms import (
    ApplicationForm,
    DecisionForm,
)
from kangfu.subsidies.models import ApplicationStatus, Kind
from kangfu.subsidies.services import applications, facts
from kangfu.subsidies.tables import ApplicationTable
from kangfu.subsidies.views.common import BAD_PICK, paged, picks, reads

NOT_FOUND = "勾选的申请中有的已不存在或不在您的辖区，本次未办理任何一件，请刷新页面后重试。"


@login_required
@require_GET
def home(request):
    reads(request)
    context = {**selectors.worklist(request.user), **selectors.grants_overview(request.user)}
    context["payrolls"] = selectors.payrolls_for(request.user)[:6]
    context["expiring"] = selectors.certificates_expiring(request.user)[:100]
    return render(request, "subsidies/home.html", context)


@login_required
@require_POST
def application_batch(request):
    """Pass the applications ticked on the worklist at once: all of them, or none and a message
    naming each that could not be passed and why."""
    reads(request)
    try:
        chosen = picks(request)
    except ValueError:
        messages.error(request, BAD_PICK)
        return redirect("subsidies:home")
    found = {
        a.pk: a for a in selectors.applications_for(request.user).filter(pk__in=[pk for pk, _v in chosen])
    }
    if len(found) != len(chosen):
        messages.error(request, NOT_FOUND)
        return redirect("subsidies:home")
    try:
        passed = applications.application_pass_many(
            actor=request.user,
            applications=[(found[pk], version) for pk, version in chosen],
            opinion=request.POST.get("opinion", "").strip()[:500],
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, f"已办理 {len(passed)} 件：{'、'.join(a.number for a in passed)}。")
    return redirect("subsidies:home")


def _applicant(cleaned: dict) -> applications.Applicant:
    return applications.Applicant(
        name=cleaned["name"],
        id_number=cleaned["id_number"],
        phone=cleaned["phone"],
        hukou_community=cleaned["hukou_community"],
    )


def _application_data(cleaned: dict) -> applications.ApplicationData:
    return applications.ApplicationData(
        living=cleaned["living"],
        care=cleaned["care"],
        bank_name=cleaned["bank_name"],
        bank_account=cleaned["bank_account"],
        agent_name=cleaned.get("agent_name", ""),
        agent_relation=cleaned.get("agent_relation", ""),
    )


def submit_application_form(request, *, actor, communities_url: str):
    """The counter form and the online form are one form; only who files it differs."""
    streets, communities = selectors.household_regions(street=request.POST.get("hukou_street", ""))
    form = ApplicationForm(
        request.POST or None, request.FILES or None, streets=streets, communities=communities
    )
    form.fields["hukou_street"].widget.attrs.update(
        {"hx-get": reverse(communities_url), "hx-target": "#id_hukou_community", "hx-trigger": "change"}
    )
    if request.method == "POST" and form.is_valid():
        documents = [(f"材料{i + 1}", f) for i, f in enumerate(form.cleaned_data["documents"])]
        try:
            created = applications.application_submit(
                actor=actor,
                applicant=_applicant(form.cleaned_data),
                data=_application_data(form.cleaned_data),
                documents=documents,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return form, created
    return form, None


@login_required
def application_new(request):
    applications.check_may_file(request.user)
    form, created = submit_application_form(
        request, actor=request.user, communities_url="subsidies:communities"
    )
    if created is not None:
        messages.success(request, f"已受理，受理编号 {created.number}，已转至户籍地社区。")
        return (
            redirect("subsidies:application", pk=created.pk)
            if selectors.applications_for(request.user).filter(pk=created.pk).exists()
            else redirect("subsidies:home")
        )
    status = 400 if request.method == "POST" else 200
    return render(request, "subsidies/application_form.html", {"form": form}, status=status)


@login_required
@require_GET
def communities(request):
    _streets, options = selectors.household_regions(street=request.GET.get("hukou_street", ""))
    return render(request, "subsidies/partials/community_options.html", {"options": options})


@login_required
@require_GET
def application_list(request):
    reads(request)
    filterset = ApplicationFilter(
        request.GET, queryset=selectors.applications_for(request.user).order_by("-created_at", "-id")
    )
    table = paged(request, ApplicationTable(filterset.qs), read="查看补贴申请列表")
    context = {"filter": filterset, "table": table, "statuses": ApplicationStatus.choices}
    if request.htmx:
        return render(request, "subsidies/partials/applications_table.html", context)
    return render(request, "subsidies/applications.html", context)


def _application_context(request, application, form=None):
    step = applications.current_step(application)
    may_decide = applications.may_decide(request.user, application)
    explanations = [
        facts.explain(
            person=application.person, kind=kind, on=timezone.localdate(), district=application.district_id
        )
        for kind in application.kinds
    ]
    return {
        "app": application,
        **selectors.application_related(application),
        "masked_id": mask_id_number(application.person.id_number),
        "masked_phone": mask_phone(application.phone),
        "masked_account": mask_account(application.bank_account),
        "current_step": step,
        "may_decide": may_decide,
        "who_must_act": applications.who_must_act(request.user, application),
        "form": form or DecisionForm(initial={"version": application.version}),
        "explanations": explanations,
        "kind_labels": dict(Kind.choices),
    }


@login_required
def application_detail(request, pk: int):
    reads(request)
    application = get_object_or_404(selectors.applications_for(request.user), pk=pk)
    if request.method == "GET":
        audit.record(
            actor=request.user,
            action=AuditAction.VIEW,
            obj=application,
            person_id=application.person_id,
            summary=f"查看补贴申请 {application.number}",
        )
        return render(request, "subsidies/application.html", _application_context(request, application))
    if request.POST.get("action") == "resubmit":
        try:
            applications.application_resubmit(actor=request.user, application=application)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        return redirect("subsidies:application", pk=application.pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            applications.application_decide(
                actor=request.user,
                application=application,
                decision=form.cleaned_data["decision"],
                opinion=form.cleaned_data["opinion"],
                version=form.cleaned_data["version"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "已办理。")
            return redirect("subsidies:application", pk=application.pk)
    application.refresh_from_db()
    return render(
        request, "subsidies/application.html", _application_context(request, application, form), status=400
    )


@login_required
@require_GET
def application_print(request, pk: int):
    """The 申请审批表 the file keeps on paper: the applicant (ID masked as on the page), each step's
    opinion, decider and date, and a line for each signature. Printing it is a read of the person."""
    reads(request)
    application = get_object_or_404(selectors.applications_for(request.user), pk=pk)
    today = timezone.localdate()
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=application,
        person_id=application.person_id,
        summary=f"打印补贴申请审批表 {application.number}",
    )
    context = {
        "app": application,
        **selectors.application_sheet(
            application, chain=applications.steps_for(application.district_id), today=today
        ),
        "masked_id": mask_id_number(application.person.id_number),
        "masked_phone": mask_phone(application.phone),
        "masked_account": mask_account(application.bank_account),
        "today": today,
    }
    return render(request, "subsidies/print_application.html", context)
