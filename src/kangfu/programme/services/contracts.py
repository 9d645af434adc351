"""Every write of the 精康 programme: funds and their movements, contracts with their milestones, and
payment requests with their approval.

Money moves only by conditional UPDATEs that check the limit in the same statement (a fund never
allocates past its amount, a contract never pays past its amount), so two people acting at once, or a
double click, cannot overspend; each movement leaves a ledger row and an audit entry in the same
transaction as the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Organisation, OrganisationKind, Region, RegionLevel, User
from kangfu.core.transitions import Conflict, advance
from kangfu.programme import selectors
from kangfu.programme.models import (
    Contract,
    Fund,
    FundMovement,
    FundSource,
    Milestone,
    MilestoneStatus,
    MovementKind,
    PaymentRequest,
    PaymentStatus,
)
from kangfu.programme.services.standards import check_final_payment

NOT_MANAGER = "只有市、区民政部门的管理员可以管理精康项目的资金和合同。"
AMOUNT_POSITIVE = "金额须大于 0。"
AMOUNT_FEN = "金额最多精确到分（两位小数）。"
AMOUNT_TOO_LARGE = "金额过大。"
BAD_YEAR = "请填写有效的年度。"
BAD_SOURCE = "请选择资金来源。"
FUND_EXISTS = "该区划本年度已有同来源、同名称的资金，请在原资金上追加。"
REDUCE_BELOW_ALLOCATED = "调减后到位金额不能低于已分配给合同的 {allocated} 元（最多可调减 {most} 元）。"
CONTRACT_ABOVE_FUND = "合同金额 {amount} 元超过资金“{fund}”的未分配余额 {remaining} 元。"
FUND_NOT_IN_SCOPE = "所选资金不在您的管辖范围内。"
INSTITUTION_OUTSIDE_FUND = "承接机构须是资金所属区划内的精神障碍社区康复机构。"
SITE_NOT_OF_INSTITUTION = "服务站点须是承接机构的站点。"
NO_SERVICE_TYPES = "请至少选择一种服务类型。"
BAD_SERVICE_TYPE = "服务类型不在九类精康服务之内。"
BAD_PERIOD = "服务期结束日期不能早于开始日期。"
NOT_PURCHASER = "您的账号未关联民政部门，不能作为购买方签订合同。"
MILESTONES_ABOVE_CONTRACT = (
    "各付款节点金额合计不能超过合同金额 {amount} 元（已设 {planned} 元，本节点最多 {most} 元）。"
)
CONTRACT_CLOSED = "该合同已结束，不能再修改或申请付款。"
MILESTONE_NOT_OPEN = "该付款节点已申请付款或已支付。"
NOT_DELIVERED = "付款节点要求的服务量尚未完成：{shortfalls}。"
PAYMENT_ABOVE_REMAINING = "申请金额 {amount} 元超过合同未支付余额 {remaining} 元。"
PAYMENT_NOT_PENDING = "该付款申请已审批，或刚被他人处理。"
NOT_YOUR_CONTRACT = "只能为本机构的合同，或本级管理的合同申请付款。"
NOT_YOUR_FUND = "只有资金所属区划的民政管理员可以审批该合同的付款。"
NEGATIVE_VOLUME = "服务量不能为负数。"
ONE_FINAL = "该合同已设尾款节点，每个合同只有一个尾款。"

MAX_MONEY = Decimal("999999999999.99")


def _money(value, field_name: str = "amount") -> Decimal:
    """A positive amount to the fen, or a field error."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({field_name: [AMOUNT_POSITIVE]}) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({field_name: [AMOUNT_POSITIVE]})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field_name: [AMOUNT_FEN]})
    if amount > MAX_MONEY:
        raise ValidationError({field_name: [AMOUNT_TOO_LARGE]})
    return amount.quantize(Decimal("0.01"))


def _require_manager(actor: User) -> None:
    if not selectors.manages(actor):
        raise PermissionDenied(NOT_MANAGER)


def _fmt(amount: Decimal) -> str:
    return f"{amount:,.2f}"


# ------------------------------------------------------------------ funds


def fund_create(
    *, actor: User, region: Region, source: str, year: int, name: str, amount, note: str = ""
) -> Fund:
    """A source's money for a year, held by a region in the actor's jurisdiction; its first
    appropriation is the fund's first movement."""
    _require_manager(actor)
    if not access.region_in_jurisdiction(actor, region.code):
        raise ValidationError({"region": [access.OUT_OF_SCOPE_REGION]})
    if source not in FundSource.values:
        raise ValidationError({"source": [BAD_SOURCE]})
    if not 2000 <= int(year) <= 2100:
        raise ValidationError({"year": [BAD_YEAR]})
    amount = _money(amount)
    name = name.strip() or FundSource(source).label
    try:
        with transaction.atomic():
            fund = Fund.objects.create(
                region=region,
                source=source,
                year=year,
                name=name,
                amount=amount,
                note=note,
                created_by=actor,
            )
            FundMovement.objects.create(
                fund=fund, kind=MovementKind.APPROPRIATE, amount=amount, note=note, actor=actor
            )
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=fund,
                summary=f"新增项目资金“{fund}”{_fmt(amount)} 元（{region.label}）",
            )
    except IntegrityError:
        raise ValidationError({"name": [FUND_EXISTS]}) from None
    return fund


def fund_adjust(*, actor: User, fund: Fund, delta, note: str = "") -> Fund:
    """Add to a fund's money (a further appropriation) or take from it, never below what is already
    allocated to contracts. `delta` is signed."""
    _require_manager(actor)
    if not access.region_in_jurisdiction(actor, fund.region_id):
        raise PermissionDenied(FUND_NOT_IN_SCOPE)
    try:
        delta = Decimal(str(delta))
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({"delta": [AMOUNT_POSITIVE]}) from None
    size = _money(abs(delta), "delta")
    with transaction.atomic():
        rows = Fund.objects.filter(pk=fund.pk)
        if delta < 0:
            rows = rows.filter(amount__gte=F("allocated") + size)
            changed = rows.update(amount=F("amount") - size)
        else:
            changed = rows.filter(amount__lte=MAX_MONEY - size).update(amount=F("amount") + size)
        fund.refresh_from_db()
        if not changed:
            if delta < 0:
                message = REDUCE_BELOW_ALLOCATED.format(
                    allocated=_fmt(fund.allocated), most=_fmt(fund.remaining)
                )
            else:
                message = AMOUNT_TOO_LARGE
            raise ValidationError({"delta": [message]})
        kind = MovementKind.REDUCE if delta < 0 else MovementKind.APPROPRIATE
        FundMovement.objects.create(fund=fund, kind=kind, amount=size, note=note, actor=actor)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=fund,
            summary=f"项目资金“{fund}”{MovementKind(kind).label} {_fmt(size)} 元，现到位 {_fmt(fund.amount)} 元",
            changes={"amount": [str(fund.amount + (size if delta < 0 else -size)), str(fund.amount)]},
        )
    return fund


# ------------------------------------------------------------------ contracts


@dataclass
class ContractData:
    title: str
    institution: Organisation
    fund: Fund
    starts_on: dt.date
    ends_on: dt.date
    amount: Decimal
    service_types: list[str]
    sites: list[Organisation] = field(default_factory=list)
    people: int = 0
    sessions: int = 0
    people_times: int = 0
    follow_ups: int = 0
    staff_trained: int = 0


def _purchaser(actor: User, fund: Fund) -> Organisation:
    """The civil-affairs office that buys: the actor's own, which holds the fund's region."""
    org = actor.organisation
    if org is None or org.kind != OrganisationKind.CIVIL_AFFAIRS:
        raise ValidationError(NOT_PURCHASER)
    return org


def _district_of(org: Organisation) -> str:
    region = org.region
    if region.level <= RegionLevel.CITY:
        return region.code
    return region.ancestor(RegionLevel.DISTRICT)


def _check_volumes(obj) -> None:
    for v in selectors.VOLUMES:
        value = getattr(obj, v)
        if value is None or int(value) < 0:
            raise ValidationError({v: [NEGATIVE_VOLUME]})


def _next_number(year: int) -> str:
    prefix = f"JK{year}-"
    last = (
        Contract.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
    ).first()
    n = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{n:04d}"


def contract_create(*, actor: User, data: ContractData) -> Contract:
    """Sign a contract: its amount is allocated from the fund at once, refused when it exceeds what
    the fund has not yet allocated (checked by the UPDATE itself)."""
    _require_manager(actor)
    fund = data.fund
    if not selectors.funds_for(actor).filter(pk=fund.pk).exists():
        raise ValidationError({"fund": [FUND_NOT_IN_SCOPE]})
    purchaser = _purchaser(actor, fund)
    inst = data.institution
    if (
        inst.kind != OrganisationKind.REHAB_INSTITUTION
        or not fund.region.contains(inst.region_id)
        or not selectors.institutions_for(actor).filter(pk=inst.pk).exists()
    ):
        raise ValidationError({"institution": [INSTITUTION_OUTSIDE_FUND]})
    if data.ends_on < data.starts_on:
        raise ValidationError({"ends_on": [BAD_PERIOD]})
    types = list(dict.fromkeys(data.service_types))
    if not types:
        raise ValidationError({"service_types": [NO_SERVICE_TYPES]})
    if any(t not in selectors.SERVICE_TYPE_VALUES for t in types):
        raise ValidationError({"service_types": [BAD_SERVICE_TYPE]})
    if any(s.parent_id != inst.pk or s.kind != OrganisationKind.REHAB_SITE for s in data.sites):
        raise ValidationError({"sites": [SITE_NOT_OF_INSTITUTION]})
    _check_volumes(data)
    amount = _money(data.amount)
    with transaction.atomic():
        allocated = Fund.objects.filter(pk=fund.pk, amount__gte=F("allocated") + amount).update(
            allocated=F("allocated") + amount
        )
        if not allocated:
            fund.refresh_from_db()
            raise ValidationError(
                {
                    "amount": [
                        CONTRACT_ABOVE_FUND.format(
                            amount=_fmt(amount), fund=fund.name, remaining=_fmt(fund.remaining)
                        )
                    ]
                }
            )
        # The fund row is now locked by this transaction: contracts numbered under it are serialised,
        # and a clash with another fund's contract is retried with the next number.
        for attempt in range(5):
            try:
                with transaction.atomic():
                    contract = Contract.objects.create(
                        number=_next_number(data.starts_on.year),
                        title=data.title.strip(),
                        purchaser=purchaser,
                        institution=inst,
                        district_id=_district_of(inst),
                        fund=fund,
                        starts_on=data.starts_on,
                        ends_on=data.ends_on,
                        amount=amount,
                        service_types=types,
                        created_by=actor,
                        **{v: int(getattr(data, v)) for v in selectors.VOLUMES},
                    )
                break
            except IntegrityError:
                if attempt == 4:
                    raise
        contract.sites.set(data.sites)
        FundMovement.objects.create(
            fund=fund, kind=MovementKind.ALLOCATE, amount=amount, contract=contract, actor=actor
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=contract,
            summary=f"签订购买服务合同 {contract.number}“{contract.title}”，{inst.name}，"
            f"{_fmt(amount)} 元，资金“{fund}”",
        )
    return contract


@dataclass
class MilestoneData:
    name: str
    amount: Decimal
    due_on: dt.date | None = None
    people: int = 0
    sessions: int = 0
    people_times: int = 0
    follow_ups: int = 0
    staff_trained: int = 0
    final: bool = False


def _manages_contract(actor: User, contract: Contract) -> None:
    """Money of a contract is decided where its fund is held."""
    _require_manager(actor)
    if not access.region_in_jurisdiction(actor, contract.fund.region_id):
        raise PermissionDenied(NOT_YOUR_FUND)


def milestone_add(*, actor: User, contract: Contract, data: MilestoneData) -> Milestone:
    """A payment milestone: its amount, with the others', stays within the contract's amount."""
    _manages_contract(actor, contract)
    if contract.status != "active":
        raise ValidationError(CONTRACT_CLOSED)
    amount = _money(data.amount)
    _check_volumes(data)
    with transaction.atomic():
        # Serialise milestones of one contract so two added at once cannot both fit the amount.
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        planned = contract.milestones.aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
        if planned + amount > contract.amount:
            raise ValidationError(
                {
                    "amount": [
                        MILESTONES_ABOVE_CONTRACT.format(
                            amount=_fmt(contract.amount),
                            planned=_fmt(planned),
                            most=_fmt(contract.amount - planned),
                        )
                    ]
                }
            )
        if data.final and contract.milestones.filter(final=True).exists():
            raise ValidationError({"final": [ONE_FINAL]})
        seq = (contract.milestones.order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
        milestone = Milestone.objects.create(
            contract=contract,
            seq=seq,
            name=data.name.strip() or f"第{seq}期",
            amount=amount,
            due_on=data.due_on,
            final=bool(data.final),
            **{v: int(getattr(data, v)) for v in selectors.VOLUMES},
        )
        required = "，".join(
            f"{selectors.VOLUME_LABELS[v]} {getattr(milestone, v)}"
            for v in selectors.VOLUMES
            if getattr(milestone, v)
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=milestone,
            summary=f"合同 {contract.number} 新增付款节点 {milestone}：{_fmt(amount)} 元；{required or '无服务量要求'}",
        )
    return milestone


# ------------------------------------------------------------------ payments


def _evidence(contract: Contract, milestone: Milestone) -> tuple[dict, list[tuple[str, int, int]]]:
    delivery = selectors.delivery_of(contract)
    shortfalls = delivery.shortfalls(milestone)
    evidence = {
        "counted_at": timezone.now().isoformat(timespec="seconds"),
        "volumes": {
            v: {"required": getattr(milestone, v), "delivered": delivery.totals[v]} for v in selectors.VOLUMES
        },
        "months": [
            {"month": row["month"].isoformat(), **{v: row[v] for v in selectors.VOLUMES}}
            for row in delivery.months
        ],
    }
    return evidence, shortfalls


def _not_delivered(shortfalls: list[tuple[str, int, int]]) -> ValidationError:
    text = "；".join(f"{selectors.VOLUME_LABELS[v]}要求 {req}，已完成 {done}" for v, req, done in shortfalls)
    return ValidationError(NOT_DELIVERED.format(shortfalls=text))


def _may_request(actor: User, contract: Contract) -> None:
    if contract.institution_id in access.rehab_org_ids(actor):
        return
    if selectors.manages(actor) and access.region_in_jurisdiction(actor, contract.fund.region_id):
        return
    raise PermissionDenied(NOT_YOUR_CONTRACT)


def payment_request(*, actor: User, milestone: Milestone) -> PaymentRequest:
    """Ask to pay a milestone, with the delivered volumes as evidence: refused when they fall short
    of the milestone's, or when the amount exceeds what the contract has left to pay."""
    contract = Contract.objects.select_related("fund").get(pk=milestone.contract_id)
    _may_request(actor, contract)
    if contract.status != "active":
        raise ValidationError(CONTRACT_CLOSED)
    if milestone.status != MilestoneStatus.OPEN:
        raise Conflict(MILESTONE_NOT_OPEN)
    if milestone.final:
        check_final_payment(contract)
    pending = contract.payments.filter(status=PaymentStatus.PENDING).aggregate(s=Sum("amount"))["s"] or 0
    if milestone.amount > contract.remaining - pending:
        raise ValidationError(
            PAYMENT_ABOVE_REMAINING.format(
                amount=_fmt(milestone.amount), remaining=_fmt(contract.remaining - pending)
            )
        )
    evidence, shortfalls = _evidence(contract, milestone)
    if shortfalls:
        raise _not_delivered(shortfalls)
    try:
        with transaction.atomic():
            advance(
                Milestone.objects.filter(pk=milestone.pk),
                expected=MilestoneStatus.OPEN,
                message=MILESTONE_NOT_OPEN,
                status=MilestoneStatus.REQUESTED,
            )
            payment = PaymentRequest.objects.create(
                milestone=milestone,
                contract=contract,
                district_id=contract.district_id,
                amount=milestone.amount,
                evidence=evidence,
                requested_by=actor,
            )
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=payment,
                summary=f"合同 {contract.number} {milestone} 申请付款 {_fmt(milestone.amount)} 元",
            )
    except IntegrityError:
        raise Conflict(MILESTONE_NOT_OPEN) from None
    return payment


def payment_approve(*, actor: User, payment: PaymentRequest, note: str = "") -> PaymentRequest:
    """Approve and pay: by someone other than the requester, only while the volumes are still
    delivered and the contract and fund still have the money. Exactly one of two approvals at once
    succeeds."""
    contract = Contract.objects.select_related("fund").get(pk=payment.contract_id)
    milestone = Milestone.objects.get(pk=payment.milestone_id)
    _manages_contract(actor, contract)
    access.ensure_separate_actors(submitted_by_id=payment.requested_by_id, actor=actor)
    if payment.status != PaymentStatus.PENDING:
        raise Conflict(PAYMENT_NOT_PENDING)
    # Counters can go down (a service recorded in error and removed): judge on today's figures.
    _, shortfalls = _evidence(contract, milestone)
    if shortfalls:
        raise _not_delivered(shortfalls)
    amount = payment.amount
    now = timezone.now()
    with transaction.atomic():
        advance(
            PaymentRequest.objects.filter(pk=payment.pk),
            expected=PaymentStatus.PENDING,
            message=PAYMENT_NOT_PENDING,
            status=PaymentStatus.APPROVED,
            decided_by=actor,
            decided_at=now,
            decision_note=note[:200],
        )
        paid = Contract.objects.filter(pk=contract.pk, paid__lte=F("amount") - amount).update(
            paid=F("paid") + amount
        )
        if not paid:
            contract.refresh_from_db()
            raise ValidationError(
                PAYMENT_ABOVE_REMAINING.format(amount=_fmt(amount), remaining=_fmt(contract.remaining))
            )
        # Within the allocation by construction (a contract's payments never pass its amount, which
        # was allocated); the condition keeps the ledger honest all the same.
        if not Fund.objects.filter(pk=contract.fund_id, spent__lte=F("allocated") - amount).update(
            spent=F("spent") + amount
        ):
            raise ValidationError(PAYMENT_ABOVE_REMAINING.format(amount=_fmt(amount), remaining="0.00"))
        advance(
            Milestone.objects.filter(pk=milestone.pk),
            expected=MilestoneStatus.REQUESTED,
            message=PAYMENT_NOT_PENDING,
            status=MilestoneStatus.PAID,
        )
        FundMovement.objects.create(
            fund_id=contract.fund_id,
            kind=MovementKind.PAY,
            amount=amount,
            contract=contract,
            payment=payment,
            note=f"{contract.number} {milestone}",
            actor=actor,
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=payment,
            summary=f"批准合同 {contract.number} {milestone} 付款 {_fmt(amount)} 元",
            changes={"status": [PaymentStatus.PENDING, PaymentStatus.APPROVED]},
        )
    payment.refresh_from_db()
    return payment


def payment_reject(*, actor: User, payment: PaymentRequest, note: str) -> PaymentRequest:
    """Send a request back: the milestone may be requested again later."""
    contract = Contract.objects.select_related("fund").get(pk=payment.contract_id)
    _manages_contract(actor, contract)
    access.ensure_separate_actors(submitted_by_id=payment.requested_by_id, actor=actor)
    if not note.strip():
        raise ValidationError({"note": ["退回时请填写原因。"]})
    with transaction.atomic():
        advance(
            PaymentRequest.objects.filter(pk=payment.pk),
            expected=PaymentStatus.PENDING,
            message=PAYMENT_NOT_PENDING,
            status=PaymentStatus.REJECTED,
            decided_by=actor,
            decided_at=timezone.now(),
            decision_note=note.strip()[:200],
        )
        advance(
            Milestone.objects.filter(pk=payment.milestone_id),
            expected=MilestoneStatus.REQUESTED,
            message=PAYMENT_NOT_PENDING,
            status=MilestoneStatus.OPEN,
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=payment,
            summary=f"退回合同 {contract.number} 付款申请：{note.strip()[:100]}",
            changes={"status": [PaymentStatus.PENDING, PaymentStatus.REJECTED]},
        )
    payment.refresh_from_db()
    return payment
