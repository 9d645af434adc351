"""Reconciliation before the first live payroll: what the former system paid in its last month
against what Kangfu would pay in the go-live month, per district and kind, and every grant that
differs with its reason, so a district corrects its data before the first payment.

"What Kangfu would pay" is the payroll itself: it is computed by the payroll's own statements inside
a transaction that is rolled back, so the two can never disagree and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum

from kangfu.core import access, audit
from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction, Region, RegionLevel, User
from kangfu.core.months import add_months, month_start
from kangfu.people.models import Person
from kangfu.subsidies.models import (
    Grant,
    HeldGrant,
    HoldRule,
    Kind,
    LineType,
    Payroll,
    PayrollLine,
    PayrollStatus,
)
from kangfu.subsidies.services.payroll import payroll_compute

ZERO = Decimal("0.00")
NOT_A_DISTRICT = "对账按区进行：请选择区，或以市级账号查看全市各区。"
HELD = "本月将暂缓发放：{rule}"
DIFFERENT = "标准不同：原系统每月 {legacy} 元，本系统 {ours} 元"
NOT_PAID_BEFORE = "原系统最后一个月未发放，本系统将发放 {ours} 元"
NOT_PAID_NOW = "原系统发放 {legacy} 元，本系统本月不发放（补贴已停发或暂停）"
ARREARS = "将补发 {n} 个月，共 {amount} 元"
RECOVERY = "将追回 {n} 个月，共 {amount} 元"


@dataclass
class Row:
    """One district and kind: the former system's last month against Kangfu's first."""

    district: Region
    kind: str
    legacy_count: int = 0
    legacy_total: Decimal = ZERO
    ours_count: int = 0
    ours_total: Decimal = ZERO
    arrears: Decimal = ZERO
    recoveries: Decimal = ZERO
    held: int = 0
    differing: int = 0

    @property
    def kind_label(self) -> str:
        return Kind(self.kind).label


@dataclass
class Difference:
    grant_id: int
    person_id: int
    name: str
    id_masked: str
    district: str
    kind: str
    legacy: Decimal | None
    ours: Decimal | None
    reasons: list[str]

    @property
    def kind_label(self) -> str:
        return Kind(self.kind).label


@dataclass
class Reconciliation:
    month: dt.date
    rows: list[Row] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def last_legacy_month(self) -> dt.date:
        return add_months(self.month, -1)


def districts_for(user: User | None, district: Region | None = None) -> list[Region]:
    """The districts a user reconciles: their own, or every district of their city."""
    if district is not None:
        if district.level != RegionLevel.DISTRICT:
            raise ValidationError(NOT_A_DISTRICT)
        if user is not None and not access.region_in_jurisdiction(user, district.code):
            raise PermissionDenied(access.OUT_OF_SCOPE_REGION)
        return [district]
    if user is None or user.jurisdiction is None:
        raise ValidationError(NOT_A_DISTRICT)
    region = user.jurisdiction
    if region.level == RegionLevel.DISTRICT:
        return [region]
    if region.level in (RegionLevel.PROVINCE, RegionLevel.CITY):
        codes = Grant.objects.filter(district__code__startswith=region.code[: 2 if region.level == 1 else 4])
        return list(Region.objects.filter(code__in=codes.values("district_id").distinct()).order_by("code"))
    raise ValidationError(NOT_A_DISTRICT)


def reconcile(*, actor: User | None, month: dt.date, districts: list[Region]) -> Reconciliation:
    """Compare, per district and kind, the legacy payroll of the month before `month` with the
    payroll `month` would have. Reads only: the payroll is computed and rolled back."""
    if (
        actor is not None
        and not access.policy(actor).runs_payroll
        and not access.policy(actor).sets_standards
    ):
        raise PermissionDenied(access.NOT_ALLOWED)
    month = month_start(month)
    result = Reconciliation(month=month)
    for district in districts:
        _district(result, district, month)
    audit.record(
        actor=actor,
        action=AuditAction.VIEW,
        object_type="golive.reconciliation",
        summary=f"上线对账 {month:%Y-%m}：" + "、".join(d.label for d in districts)[:200],
    )
    return result


def _district(result: Reconciliation, district: Region, month: dt.date) -> None:
    last = add_months(month, -1)
    legacy = defaultdict(lambda: ZERO)
    for grant_id, amount in (
        PayrollLine.objects.filter(
            payroll__district=district, payroll__status=PayrollStatus.LOCKED, month_for=last
        )
        .values("grant_id")
        .annotate(total=Sum("amount"))
        .values_list("grant_id", "total")
    ):
        legacy[grant_id] = Decimal(amount).quantize(Decimal("0.01"))  # SQLite sums drop the cents
    ours: dict[int, Decimal] = defaultdict(lambda: ZERO)
    before: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    held: dict[int, str] = {}
    with transaction.atomic():
        payroll = Payroll.objects.filter(district=district, month=month).first()
        if payroll is None or payroll.status != PayrollStatus.LOCKED:
            if payroll is None:
                payroll = Payroll.objects.create(district=district, month=month)
            payroll_compute(payroll=payroll, district=district, month=month)
        for grant_id, month_for, amount, line_type in PayrollLine.objects.filter(payroll=payroll).values_list(
            "grant_id", "month_for", "amount", "line_type"
        ):
            if month_for == month and line_type == LineType.REGULAR:
                ours[grant_id] += amount
            else:
                before[grant_id].append((month_for, amount))
        for grant_id, rule in HeldGrant.objects.filter(payroll=payroll).values_list("grant_id", "rule"):
            held.setdefault(grant_id, HoldRule(rule).label)
        transaction.set_rollback(True)
    grants = {
        g["pk"]: g
        for g in Grant.objects.filter(district=district)
        .filter(pk__in=set(legacy) | set(ours) | set(before) | set(held))
        .values("pk", "person_id", "kind", "status")
    }
    rows = {kind: Row(district=district, kind=kind) for kind in Kind.values}
    for grant_id, grant in grants.items():
        row = rows[grant["kind"]]
        reasons: list[str] = []
        if grant_id in legacy:
            row.legacy_count += 1
            row.legacy_total += legacy[grant_id]
        if grant_id in ours:
            row.ours_count += 1
            row.ours_total += ours[grant_id]
        if grant_id in held:
            row.held += 1
            reasons.append(HELD.format(rule=held[grant_id]))
        elif grant_id in legacy and grant_id in ours and legacy[grant_id] != ours[grant_id]:
            reasons.append(DIFFERENT.format(legacy=legacy[grant_id], ours=ours[grant_id]))
        elif grant_id in ours and grant_id not in legacy:
            reasons.append(NOT_PAID_BEFORE.format(ours=ours[grant_id]))
        elif grant_id in legacy and grant_id not in ours:
            reasons.append(NOT_PAID_NOW.format(legacy=legacy[grant_id]))
        plus = [a for _m, a in before.get(grant_id, []) if a > 0]
        minus = [a for _m, a in before.get(grant_id, []) if a < 0]
        if plus:
            row.arrears += sum(plus, ZERO)
            reasons.append(ARREARS.format(n=len(plus), amount=sum(plus, ZERO)))
        if minus:
            row.recoveries += sum(minus, ZERO)
            reasons.append(RECOVERY.format(n=len(minus), amount=-sum(minus, ZERO)))
        if reasons:
            row.differing += 1
            result.differences.append(
                Difference(
                    grant_id=grant_id,
                    person_id=grant["person_id"],
                    name="",
                    id_masked="",
                    district=district.label,
                    kind=grant["kind"],
                    legacy=legacy.get(grant_id),
                    ours=ours.get(grant_id),
                    reasons=reasons,
                )
            )
    people = {
        p.pk: p
        for p in Person.objects.filter(pk__in={d.person_id for d in result.differences}).only(
            "name", "id_number"
        )
    }
    for difference in result.differences:
        person = people.get(difference.person_id)
        if person is not None:
            difference.name = person.name
            difference.id_masked = mask_id_number(person.id_number)
    result.rows.extend(rows[k] for k in Kind.values)
