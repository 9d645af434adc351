"""Pages of the monthly payroll: runs, one run, its payment files, debts repaid."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import access, audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.models import AuditAction
from kangfu.subsidies import selectors
from kangfu.subsidies.filters import PayrollFilter, PayrollLineFilter
from kangfu.subsidies.forms import (
    BankResultForm,
    PayrollRunForm,
)
from kangfu.subsidies.models import PayrollStatus
from kangfu.subsidies.services import payroll
from kangfu.subsidies.tables import PayrollLineTable, PayrollTable
from kangfu.subsidies.views.common import paged


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
        "table": paged(request, PayrollTable(filterset.qs), per_page=36),
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
    if request.htmx and request.method == "GET" and request.htmx.target == "payroll-lines":
        # The lines narrowed or paged: a read of people's data like the page itself.
        audit.record(actor=request.user, action=AuditAction.VIEW, obj=run, summary=f"查看发放明细 {run}")
        return render(request, "subsidies/partials/payroll_lines.html", _lines_context(request, run))
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
        **(_lines_context(request, run) if run.status != PayrollStatus.RUNNING else {}),
    }
    return render(request, "subsidies/payroll.html", context, status=status)


def _lines_context(request, run) -> dict:
    """The payroll's lines, filtered and paged as every list is, with the totals of what is shown:
    what the reviewer checks before locking."""
    filterset = PayrollLineFilter(
        request.GET, queryset=selectors.payroll_lines(run), streets=selectors.payroll_streets(run)
    )
    return {
        "run": run,
        "line_filter": filterset,
        "lines": paged(request, PayrollLineTable(filterset.qs)),
        "line_totals": selectors.payroll_line_totals(filterset.qs),
    }


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
