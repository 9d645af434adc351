"""Pages of 两项补贴: worklists, applications and their steps, grants, payrolls, standards, indicators."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from kangfu.core import access, audit
from kangfu.core.exports import xlsx_response
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_account, mask_id_number, mask_phone
from kangfu.core.models import AuditAction
from kangfu.core.pagination import CappedPaginator
from kangfu.subsidies import selectors
from kangfu.subsidies.filters import AppealFilter, ApplicationFilter, GrantFilter, PayrollFilter
from kangfu.subsidies.forms import (
    AppealDecisionForm,
    AppealForm,
    ApplicationForm,
    BankResultForm,
    CampaignForm,
    DecisionForm,
    GrantChangeForm,
    PayrollRunForm,
    ReviewDecisionForm,
    StandardForm,
    VisitForm,
)
from kangfu.subsidies.models import AppealStatus, ApplicationStatus, Kind, PayrollStatus
from kangfu.subsidies.services import appeals, applications, facts, grants, payroll
from kangfu.subsidies.services import reviews as reviews_service
from kangfu.subsidies.services import standards as standard_services
from kangfu.subsidies.tables import AppealTable, ApplicationTable, GrantTable, PayrollTable


def _reads(request):
    access.require(request.user, "reads_civil_affairs")


def _paged(request, table, *, per_page: int = 50):
    """A list table paged as every list is (`people`'s): at most `per_page` rows, a capped count."""
    RequestConfig(request, paginate={"per_page": per_page, "paginator_class": CappedPaginator}).configure(
        table
    )
    return table


@login_required
@require_GET
def home(request):
    _reads(request)
    context = {**selectors.worklist(request.user), **selectors.grants_overview(request.user)}
    context["payrolls"] = selectors.payrolls_for(request.user)[:6]
    context["expiring"] = selectors.certificates_expiring(request.user)[:100]
    return render(request, "subsidies/home.html", context)


# ------------------------------------------------------------------ applications


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
    _reads(request)
    filterset = ApplicationFilter(
        request.GET, queryset=selectors.applications_for(request.user).order_by("-created_at", "-id")
    )
    table = _paged(request, ApplicationTable(filterset.qs))
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
        "form": form or DecisionForm(initial={"version": application.version}),
        "explanations": explanations,
        "kind_labels": dict(Kind.choices),
    }


@login_required
def application_detail(request, pk: int):
    _reads(request)
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


# ------------------------------------------------------------------ grants


@login_required
@require_GET
def grant_list(request):
    _reads(request)
    filterset = GrantFilter(
        request.GET, queryset=selectors.grants_for(request.user).order_by("street_id", "person__name", "id")
    )
    table = _paged(request, GrantTable(filterset.qs))
    context = {"filter": filterset, "table": table}
    if request.htmx:
        return render(request, "subsidies/partials/grants_table.html", context)
    return render(request, "subsidies/grants.html", context)


@login_required
def grant_detail(request, pk: int):
    _reads(request)
    grant = get_object_or_404(selectors.grants_for(request.user), pk=pk)
    form = GrantChangeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not access.policy(request.user).runs_payroll:
            raise PermissionDenied(access.NOT_ALLOWED)
        if form.is_valid():
            d = form.cleaned_data
            month = d["effective_month"]
            try:
                if d["action"] == "stop":
                    grants.grant_stop(
                        actor=request.user,
                        grant=grant,
                        from_month=month,
                        stop_reason=d["stop_reason"] or "withdrawn",
                        reason=d["reason"],
                    )
                elif d["action"] == "suspend":
                    grants.grant_suspend(
                        actor=request.user, grant=grant, from_month=month, reason=d["reason"]
                    )
                elif d["action"] == "resume":
                    grants.grant_resume(actor=request.user, grant=grant, from_month=month, reason=d["reason"])
                else:
                    grants.grant_regrade(
                        actor=request.user,
                        grant=grant,
                        from_month=month,
                        grade=d["grade"],
                        category=d.get("category") or None,
                        reason=d["reason"],
                    )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已登记，下次发放时按新情况计算。")
                return redirect("subsidies:grant", pk=grant.pk)
        status = 400
    else:
        audit.record(
            actor=request.user,
            action=AuditAction.VIEW,
            obj=grant,
            person_id=grant.person_id,
            summary=f"查看补贴资格 {grant}",
        )
    return render(request, "subsidies/grant.html", _grant_context(request, grant, form=form), status=status)


def _grant_context(request, grant, *, form=None, appeal_form=None) -> dict:
    appealable = appeals.appealable_change(grant)
    related = selectors.grant_related(grant)
    may_appeal = (
        appealable is not None
        and not any(a.is_open and a.change_id == appealable.pk for a in related["appeals"])
        and appeals.may_lodge(request.user, grant)
    )
    return {
        "grant": grant,
        **related,
        "form": form or GrantChangeForm(),
        "masked_account": mask_account(grant.bank_account),
        "may_change": access.policy(request.user).runs_payroll,
        "appealable": appealable,
        "appeal_form": appeal_form
        or (
            AppealForm(initial={"change": appealable.pk, "lodged_on": timezone.localdate()})
            if may_appeal
            else None
        ),
        "today": timezone.localdate(),
    }


@login_required
@require_POST
def grant_appeal(request, pk: int):
    """A recipient's challenge to the stop of a grant, recorded by the clerk they came to."""
    _reads(request)
    grant = get_object_or_404(selectors.grants_for(request.user), pk=pk)
    if not appeals.may_lodge(request.user, grant):
        raise PermissionDenied(appeals.CANNOT_LODGE)
    form = AppealForm(request.POST)
    if form.is_valid():
        change = selectors.grant_change(grant, form.cleaned_data["change"])
        try:
            if change is None:
                raise ValidationError(appeals.NOT_THE_STOP)
            appeal = appeals.appeal_lodge(
                actor=request.user,
                grant=grant,
                change=change,
                reason=form.cleaned_data["reason"],
                lodged_on=form.cleaned_data["lodged_on"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"已登记申诉，区民政局应于 {appeal.due_on:%Y年%m月%d日} 前复核答复。")
            return redirect("subsidies:appeal", pk=appeal.pk)
    return render(
        request, "subsidies/grant.html", _grant_context(request, grant, appeal_form=form), status=400
    )


# ------------------------------------------------------------------ appeals (申诉复核)


@login_required
@require_GET
def appeal_list(request):
    _reads(request)
    today = timezone.localdate()
    filterset = AppealFilter(
        request.GET, queryset=selectors.appeals_for(request.user).order_by("due_on", "id")
    )
    table = _paged(request, AppealTable(filterset.qs, today=today))
    context = {
        "filter": filterset,
        "table": table,
        "overdue": selectors.appeals_overdue(request.user, today=today),
    }
    if request.htmx:
        return render(request, "subsidies/partials/appeals_table.html", context)
    return render(request, "subsidies/appeals.html", context)


def _appeal_context(request, appeal, form=None) -> dict:
    grant = appeal.grant
    return {
        "appeal": appeal,
        "grant": grant,
        "explanation": facts.explain(
            person=grant.person, kind=grant.kind, on=timezone.localdate(), district=grant.district_id
        ),
        "may_decide": appeal.is_open and appeals.may_decide(request.user, appeal),
        "form": form or AppealDecisionForm(),
        "today": timezone.localdate(),
    }


@login_required
@require_GET
def appeal_detail(request, pk: int):
    _reads(request)
    appeal = get_object_or_404(selectors.appeals_for(request.user), pk=pk)
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=appeal,
        person_id=appeal.grant.person_id,
        summary=f"查看申诉 {appeal}",
    )
    return render(request, "subsidies/appeal.html", _appeal_context(request, appeal))


@login_required
@require_POST
def appeal_decide(request, pk: int):
    _reads(request)
    appeal = get_object_or_404(selectors.appeals_for(request.user), pk=pk)
    if not appeals.may_decide(request.user, appeal):
        raise PermissionDenied(appeals.NOT_YOUR_DISTRICT)
    form = AppealDecisionForm(request.POST)
    if form.is_valid():
        try:
            decided = appeals.appeal_decide(
                actor=request.user,
                appeal=appeal,
                upheld=form.cleaned_data["outcome"] == "upheld",
                opinion=form.cleaned_data["opinion"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                "申诉成立，已恢复发放；停发以来的各月将在下次发放时补发。"
                if decided.status == AppealStatus.UPHELD
                else "已答复：申诉不成立，维持原决定。",
            )
            return redirect("subsidies:appeal", pk=appeal.pk)
    appeal.refresh_from_db()
    return render(request, "subsidies/appeal.html", _appeal_context(request, appeal, form), status=400)


# ------------------------------------------------------------------ payroll


@login_required
def payroll_list(request):
    access.require(request.user, "runs_payroll")
    district = selectors.payroll_district(request.user)
    form = PayrollRunForm(request.POST or None, initial={"month": timezone.localdate().replace(day=1)})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                run = payroll.payroll_start(
                    actor=request.user, district=district, month=form.cleaned_data["month"]
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _started(run))
                return redirect("subsidies:payroll", pk=run.pk)
        status = 400
    filterset = PayrollFilter(
        request.GET,
        queryset=selectors.payrolls_for(request.user)
        .filter(district=district)
        .select_related("run_by", "locked_by"),
    )
    context = {
        "filter": filterset,
        "table": _paged(request, PayrollTable(filterset.qs), per_page=36),
        "form": form,
        "district": district,
        "debts": selectors.open_recoveries(request.user, district=district)[:200],
    }
    if request.htmx and request.method == "GET":
        return render(request, "subsidies/partials/payrolls_table.html", context)
    return render(request, "subsidies/payrolls.html", context, status=status)


def _started(run) -> str:
    return f"已开始计算 {run.month:%Y年%m月} 的发放。计算在后台进行，完成后在本页显示结果；请另一位审核人核对后锁定。"


@login_required
def payroll_detail(request, pk: int):
    access.require(request.user, "runs_payroll")
    run = get_object_or_404(selectors.payrolls_for(request.user), pk=pk)
    if request.htmx and request.method == "GET":
        # The running page asks every few seconds; once the run is over it reloads whole, totals and all.
        response = render(
            request, "subsidies/partials/payroll_state.html", {"run": run, "busy": payroll.payroll_busy(run)}
        )
        if run.status != PayrollStatus.RUNNING:
            response["HX-Refresh"] = "true"
        return response
    bank_form = BankResultForm()
    report = None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "lock":
                payroll.payroll_lock(actor=request.user, payroll=run)
                messages.success(request, "已锁定。本月发放不再变动，可以导出发放文件。")
                return redirect("subsidies:payroll", pk=run.pk)
            if action == "rerun":
                payroll.payroll_start(actor=request.user, district=run.district, month=run.month)
                messages.success(request, _started(run))
                return redirect("subsidies:payroll", pk=run.pk)
            if action == "bank":
                bank_form = BankResultForm(request.POST, request.FILES)
                if bank_form.is_valid():
                    report = payroll.bank_result_import(
                        actor=request.user, payroll=run, text=bank_form.cleaned_data["file"]
                    )
                    if not report.errors:
                        messages.success(
                            request,
                            f"已导入：成功 {report.paid} 条，失败 {report.failed} 条（失败的下月补发）。",
                        )
                        return redirect("subsidies:payroll", pk=run.pk)
                status = 400
            else:
                raise Http404
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
            return redirect("subsidies:payroll", pk=run.pk)
    run.refresh_from_db()
    if request.method == "GET":
        # The page names recipients (exceptions, failed payments): a read of people's data.
        audit.record(actor=request.user, action=AuditAction.VIEW, obj=run, summary=f"查看发放 {run}")
    context = {
        "run": run,
        "busy": payroll.payroll_busy(run),
        "bank_form": bank_form,
        "report": report,
        "formats": selectors.payment_formats(),
        **selectors.payroll_summary(run),
    }
    return render(request, "subsidies/payroll.html", context, status=status)


@login_required
@require_GET
def payroll_file(request, pk: int, fmt: str):
    access.require(request.user, "runs_payroll")
    run = get_object_or_404(selectors.payrolls_for(request.user), pk=pk)
    if fmt not in {"xlsx", "csv"}:
        raise Http404
    try:
        content, content_type = payroll.payment_file(
            actor=request.user, payroll=run, fmt=fmt, bank=request.GET.get("bank", "default")
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("subsidies:payroll", pk=run.pk)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="payroll-{run.district_id[:6]}-{run.month:%Y%m}.{fmt}"'
    )
    return response


# ------------------------------------------------------------------ standards and indicators


@login_required
def standard_list(request):
    _reads(request)
    rights = access.policy(request.user)
    form = StandardForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not rights.sets_standards:
            raise PermissionDenied(access.NOT_ALLOWED)
        if form.is_valid():
            d = form.cleaned_data
            try:
                standard_services.standard_save(
                    actor=request.user,
                    standard=None,
                    region=request.user.jurisdiction,
                    kind=d["kind"],
                    grade_min=d["grade_min"],
                    grade_max=d["grade_max"],
                    amount=d["amount"],
                    valid_from=d["valid_from"],
                    valid_to=d["valid_to"],
                    note=d["note"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存标准；受影响的月份将在下次发放时补发或追回差额。")
                return redirect("subsidies:standards")
        status = 400
    return render(
        request,
        "subsidies/standards.html",
        {"rows": selectors.current_standards(), "form": form, "may_edit": rights.sets_standards},
        status=status,
    )


@login_required
@require_POST
def standard_close(request, pk: int):
    """End an open standard at a month, so a new amount can start the month after."""
    access.require(request.user, "sets_standards")
    standard = selectors.standard_get(pk)
    try:
        last = dt.date.fromisoformat(request.POST.get("valid_to", ""))
        standard_services.standard_save(
            actor=request.user,
            standard=standard,
            region=standard.region,
            kind=standard.kind,
            grade_min=standard.grade_min,
            grade_max=standard.grade_max,
            amount=standard.amount,
            valid_from=standard.valid_from,
            valid_to=last,
            note=standard.note,
        )
    except (ValueError, ValidationError) as exc:
        messages.error(request, "；".join(getattr(exc, "messages", ["请填写截止月份（某月第一天）。"])))
    else:
        messages.success(request, "已设定截止月份。")
    return redirect("subsidies:standards")


@login_required
@require_GET
def indicator_page(request):
    _reads(request)
    figures = selectors.indicators(request.user)
    if request.GET.get("export") == "xlsx":
        rows = [
            [
                f"{r['month']:%Y-%m}",
                r["living"],
                r["care"],
                r["approved"],
                r["stopped"],
                str(r["paid"]),
                str(r["arrears"]),
                str(r["recovered"]),
            ]
            for r in figures["rows"]
        ]
        return xlsx_response(
            actor=request.user,
            filename="subsidies-indicators.xlsx",
            sheets=[
                (
                    "两项补贴指标",
                    [
                        "月份",
                        "生活补贴人数",
                        "护理补贴人数",
                        "新批准",
                        "停发",
                        "发放金额",
                        "其中补发",
                        "追回",
                    ],
                    rows,
                )
            ],
            object_type="subsidies.indicators",
            summary="导出两项补贴指标",
        )
    charts = {
        "recipients": {
            "labels": [f"{r['month']:%Y-%m}" for r in figures["rows"]],
            "series": [
                {"name": "生活补贴", "values": [r["living"] for r in figures["rows"]]},
                {"name": "护理补贴", "values": [r["care"] for r in figures["rows"]]},
            ],
        },
        "paid": {
            "labels": [f"{r['month']:%Y-%m}" for r in figures["rows"]],
            "values": [float(r["paid"]) for r in figures["rows"]],
        },
    }
    return render(request, "subsidies/indicators.html", {"f": figures, "charts": charts})


# ------------------------------------------------------------------ annual review and visits


@login_required
def reviews(request):
    _reads(request)
    rights = access.policy(request.user)
    form = CampaignForm(
        request.POST or None,
        initial={"year": timezone.localdate().year, "due_date": dt.date(timezone.localdate().year, 5, 31)},
    )
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "decide":
            task = get_object_or_404(selectors.review_tasks_for(request.user), pk=request.POST.get("task"))
            decision = ReviewDecisionForm(request.POST)
            if decision.is_valid():
                try:
                    reviews_service.review_task_decide(actor=request.user, task=task, **decision.cleaned_data)
                except ValidationError as exc:
                    messages.error(request, "；".join(exc.messages))
                else:
                    messages.success(request, f"{task.person.name}：已登记复核结果。")
            else:
                messages.error(request, "请选择复核结果。")
            return redirect(request.get_full_path())
        if not rights.runs_payroll:
            raise PermissionDenied(access.NOT_ALLOWED)
        if form.is_valid():
            try:
                campaign = reviews_service.review_campaign_start(
                    actor=request.user, district=selectors.payroll_district(request.user), **form.cleaned_data
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request, f"已启动，生成 {selectors.campaign_size(campaign)} 项复核任务，分派到各街道。"
                )
                return redirect("subsidies:reviews")
        status = 400
    tasks = selectors.review_tasks_for(request.user)
    pending = tasks.filter(outcome="pending").order_by("street_id", "person__name")
    context = {
        "form": form,
        "may_start": rights.runs_payroll,
        "pending": pending[:200],
        "pending_count": pending.count(),
        "done_count": tasks.exclude(outcome="pending").count(),
        "decision_form": ReviewDecisionForm(),
    }
    return render(request, "subsidies/reviews.html", context, status=status)


@login_required
def visits(request):
    _reads(request)
    people, (start, end) = selectors.not_yet_seen(request.user)
    form = VisitForm(request.POST or None, initial={"visited_on": timezone.localdate()})
    status = 200
    if request.method == "POST":
        person = get_object_or_404(people, pk=request.POST.get("person"))
        if form.is_valid():
            try:
                reviews_service.visit_record(actor=request.user, person=person, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已登记与 {person.name} 的见面。")
                return redirect("subsidies:visits")
        status = 400
    return render(
        request,
        "subsidies/visits.html",
        {"people": people[:200], "count": people.count(), "start": start, "end": end, "form": form},
        status=status,
    )


@login_required
@require_POST
def recovery_repaid(request, pk: int):
    access.require(request.user, "runs_payroll")
    recovery = get_object_or_404(selectors.recoveries_for(request.user), pk=pk)
    try:
        amount = Decimal(request.POST.get("amount", "").strip())
        payroll.recovery_repaid(
            actor=request.user, recovery=recovery, amount=amount, note=request.POST.get("note", "")
        )
    except (InvalidOperation, ValidationError) as exc:
        messages.error(request, "；".join(getattr(exc, "messages", ["请填写退回金额。"])))
    else:
        messages.success(request, f"已登记 {recovery.person.name} 退回 {amount} 元。")
    return redirect("subsidies:payrolls")
