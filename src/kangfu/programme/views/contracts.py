"""Pages of the 精康 programme: thin views over the selectors and services. One URL per action."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from kangfu.core import access
from kangfu.core.forms import apply_service_errors
from kangfu.core.pagination import CappedPaginator
from kangfu.programme import selectors
from kangfu.programme import selectors_standards as standards_read
from kangfu.programme.filters import ContractFilter, FundFilter, PaymentFilter
from kangfu.programme.forms import ContractForm, DecisionForm, FundAdjustForm, FundForm, MilestoneForm
from kangfu.programme.models import ContractStatus, FundSource, PaymentStatus
from kangfu.programme.services import contracts as contract_services
from kangfu.programme.tables import ContractTable, FundTable, PaymentTable

PER_PAGE = 50


def _manager(request) -> None:
    if not selectors.manages(request.user):
        raise PermissionDenied(access.NOT_ALLOWED)


def _reader(request) -> None:
    """Managers, and the staff of an institution (their own contracts)."""
    if not (selectors.manages(request.user) or access.rehab_org_ids(request.user)):
        raise PermissionDenied(access.NOT_ALLOWED)


def _list_page(request, *, table, template: str, context: dict):
    """A paged table: the whole page, or only the table for htmx (paging, filtering)."""
    RequestConfig(request, paginate={"per_page": PER_PAGE, "paginator_class": CappedPaginator}).configure(
        table
    )
    context = {**context, "table": table}
    if request.htmx:
        return render(request, "programme/partials/list_table.html", context)
    return render(request, template, context)


def _refused(request, exc: Exception) -> None:
    """A refusal of an action posted from a page: its message, shown where the user is."""
    if isinstance(exc, ValidationError):
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.error(request, str(exc) or access.NOT_ALLOWED)


# ------------------------------------------------------------------ funds


@login_required
@require_GET
def funds(request):
    _manager(request)
    scoped = selectors.funds_for(request.user)
    filterset = FundFilter(request.GET, queryset=scoped.order_by("-year", "region_id", "source", "name"))
    return _list_page(
        request,
        table=FundTable(filterset.qs),
        template="programme/funds.html",
        context={
            "filter": filterset,
            "sources": FundSource.choices,
            "totals": selectors.fund_totals(filterset.qs),
        },
    )


@login_required
def fund_new(request):
    _manager(request)
    form = FundForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                fund = contract_services.fund_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已新增项目资金“{fund}”。")
                return redirect("programme:fund", pk=fund.pk)
        status = 400
    return render(request, "programme/form.html", {"form": form, "title": "新增项目资金"}, status=status)


@login_required
@require_GET
def fund_detail(request, pk: int):
    _manager(request)
    fund = selectors.fund_get_for_user(user=request.user, pk=pk)
    context = {
        "fund": fund,
        "movements": selectors.movements_of(fund)[:200],
        "contracts": selectors.contracts_for(request.user).filter(fund=fund),
        "adjust_form": FundAdjustForm(),
    }
    return render(request, "programme/fund.html", context)


@login_required
@require_POST
def fund_adjust(request, pk: int):
    _manager(request)
    fund = selectors.fund_get_for_user(user=request.user, pk=pk)
    form = FundAdjustForm(request.POST)
    if form.is_valid():
        try:
            contract_services.fund_adjust(
                actor=request.user, fund=fund, delta=form.delta, note=form.cleaned_data["note"]
            )
        except (ValidationError, PermissionDenied) as exc:
            _refused(request, exc)
        else:
            messages.success(request, "已调整资金。")
            return redirect("programme:fund", pk=fund.pk)
    context = {
        "fund": fund,
        "movements": selectors.movements_of(fund)[:200],
        "contracts": selectors.contracts_for(request.user).filter(fund=fund),
        "adjust_form": form,
    }
    return render(request, "programme/fund.html", context, status=400)


# ------------------------------------------------------------------ contracts


@login_required
@require_GET
def contracts(request):
    _reader(request)
    scoped = selectors.contracts_for(request.user)
    filterset = ContractFilter(request.GET, queryset=scoped.order_by("-starts_on", "-id"))
    table = ContractTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": PER_PAGE, "paginator_class": CappedPaginator}).configure(
        table
    )
    # Delivery for the rows shown only, from the counters: a few grouped reads, whatever the page holds.
    table.totals = selectors.delivery_totals([row.record for row in table.page.object_list])
    context = {
        "table": table,
        "filter": filterset,
        "statuses": ContractStatus.choices,
        "manages": selectors.manages(request.user),
        "institutions": selectors.institutions_for(request.user),
    }
    if request.htmx:
        return render(request, "programme/partials/list_table.html", context)
    return render(request, "programme/contracts.html", context)


@login_required
def contract_new(request):
    _manager(request)
    form = ContractForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                contract = contract_services.contract_create(
                    actor=request.user, data=contract_services.ContractData(**form.cleaned_data)
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已签订合同 {contract.number}，合同金额已从资金中分配。")
                return redirect("programme:contract", pk=contract.pk)
        status = 400
    return render(request, "programme/form.html", {"form": form, "title": "新建购买服务合同"}, status=status)


def _month_rows(contract, delivery) -> list[dict]:
    """Each month's delivery beside the running total and the plan to date (the contracted volume
    spread evenly over the period's months)."""
    n = len(delivery.months) or 1
    rows = []
    for i, row in enumerate(delivery.months, start=1):
        cells = []
        for v in selectors.VOLUMES:
            total, plan = row["running"][v], round(getattr(contract, v) * i / n)
            cells.append({"n": row[v], "total": total, "plan": plan, "behind": total < plan})
        rows.append({"month": row["month"], "cells": cells})
    return rows


def _contract_context(request, contract, milestone_form=None) -> dict:
    delivery = selectors.delivery_of(contract)
    milestones = selectors.milestones_of(contract)
    return {
        "contract": contract,
        "volumes": [
            {
                "label": selectors.VOLUME_LABELS[v],
                "contracted": getattr(contract, v),
                "delivered": delivery.totals[v],
                "behind": delivery.totals[v] < getattr(contract, v),
            }
            for v in selectors.VOLUMES
        ],
        "volume_labels": [selectors.VOLUME_LABELS[v] for v in selectors.VOLUMES],
        "month_rows": _month_rows(contract, delivery),
        "service_types": [selectors.SERVICE_TYPE_LABELS.get(t, t) for t in contract.service_types],
        "sites": list(contract.sites.order_by("name")),
        "milestones": [
            {
                "m": m,
                "required": [
                    (selectors.VOLUME_LABELS[v], getattr(m, v), delivery.totals[v])
                    for v in selectors.VOLUMES
                    if getattr(m, v)
                ],
                "delivered": not delivery.shortfalls(m),
            }
            for m in milestones
        ],
        "payments": selectors.payments_of(contract),
        "manages": selectors.manages(request.user),
        "milestone_form": milestone_form or MilestoneForm(),
        "planned": sum((m.amount for m in milestones), start=contract.amount * 0),
        "acceptances": standards_read.acceptances_of(contract),
        "ended": contract.ends_on <= timezone.localdate(),
    }


@login_required
@require_GET
def contract_detail(request, pk: int):
    _reader(request)
    contract = selectors.contract_get_for_user(user=request.user, pk=pk)
    return render(request, "programme/contract.html", _contract_context(request, contract))


@login_required
@require_POST
def milestone_new(request, pk: int):
    _manager(request)
    contract = selectors.contract_get_for_user(user=request.user, pk=pk)
    form = MilestoneForm(request.POST)
    if form.is_valid():
        try:
            contract_services.milestone_add(
                actor=request.user,
                contract=contract,
                data=contract_services.MilestoneData(**form.cleaned_data),
            )
        except PermissionDenied as exc:
            _refused(request, exc)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "已新增付款节点。")
            return redirect("programme:contract", pk=contract.pk)
    return render(request, "programme/contract.html", _contract_context(request, contract, form), status=400)


@login_required
@require_POST
def milestone_request(request, pk: int):
    _reader(request)
    milestone = selectors.milestone_get_for_user(user=request.user, pk=pk)
    try:
        payment = contract_services.payment_request(actor=request.user, milestone=milestone)
    except (ValidationError, PermissionDenied) as exc:
        _refused(request, exc)
        return redirect("programme:contract", pk=milestone.contract_id)
    messages.success(request, f"已提交付款申请 #{payment.pk}，等待审批。")
    return redirect("programme:payment", pk=payment.pk)


# ------------------------------------------------------------------ payments


@login_required
@require_GET
def payments(request):
    _reader(request)
    filterset = PaymentFilter(request.GET, queryset=selectors.payments_for(request.user))
    return _list_page(
        request,
        table=PaymentTable(filterset.qs),
        template="programme/payments.html",
        context={"filter": filterset, "statuses": PaymentStatus.choices},
    )


def _payment_context(request, payment, form=None) -> dict:
    evidence = payment.evidence or {}
    volumes = evidence.get("volumes", {})
    return {
        "payment": payment,
        "contract": payment.contract,
        "evidence_rows": [
            {"label": selectors.VOLUME_LABELS[v], **volumes[v]} for v in selectors.VOLUMES if v in volumes
        ],
        "month_rows": [
            {"month": row["month"][:7], "cells": [row.get(v, 0) for v in selectors.VOLUMES]}
            for row in evidence.get("months", [])
        ],
        "volume_labels": [selectors.VOLUME_LABELS[v] for v in selectors.VOLUMES],
        "may_decide": selectors.manages(request.user)
        and payment.status == PaymentStatus.PENDING
        and payment.requested_by_id != request.user.pk,
        "form": form or DecisionForm(),
    }


@login_required
@require_GET
def payment_detail(request, pk: int):
    _reader(request)
    payment = selectors.payment_get_for_user(user=request.user, pk=pk)
    return render(request, "programme/payment.html", _payment_context(request, payment))


@login_required
@require_POST
def payment_approve(request, pk: int):
    _manager(request)
    payment = selectors.payment_get_for_user(user=request.user, pk=pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            contract_services.payment_approve(
                actor=request.user, payment=payment, note=form.cleaned_data["note"]
            )
        except (ValidationError, PermissionDenied) as exc:
            _refused(request, exc)
        else:
            messages.success(request, f"已批准付款 {payment.amount:,.2f} 元。")
    return redirect("programme:payment", pk=payment.pk)


@login_required
@require_POST
def payment_reject(request, pk: int):
    _manager(request)
    payment = selectors.payment_get_for_user(user=request.user, pk=pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            contract_services.payment_reject(
                actor=request.user, payment=payment, note=form.cleaned_data["note"]
            )
        except (ValidationError, PermissionDenied) as exc:
            _refused(request, exc)
        else:
            messages.success(request, "已退回付款申请。")
    return redirect("programme:payment", pk=payment.pk)
