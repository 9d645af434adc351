"""Recipients and payments of the system used before go-live (上线迁移).

Months the former system paid become lines of locked payrolls marked as legacy, one per district and
month, so that the payroll's recalculation, recoveries and the comparison's amounts at stake count
them exactly as they count Kangfu's own locked payrolls. Every function here is set-based: an import
of 300,000 recipients with a year of payments each writes in batches, never a query per line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from kangfu.core.months import add_months
from kangfu.subsidies.models import (
    BankStatus,
    LineType,
    Payroll,
    PayrollLine,
    PayrollSource,
    PayrollStatus,
    Standard,
)

OURS_ALREADY = "{district} {month:%Y-%m} 已在本系统发放，原系统的该月发放不能导入。"
MIGRATED = "历史数据迁移"


class LegacyPayrolls:
    """The legacy payroll of each (district, month) an import touches, made on first use."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, dt.date], int] = {}
        self._ours: set[tuple[str, dt.date]] = set()
        self.touched: set[int] = set()

    def load(self, keys: Iterable[tuple[str, dt.date]]) -> None:
        wanted = {k for k in keys if k not in self._ids and k not in self._ours}
        if not wanted:
            return
        districts = {d for d, _m in wanted}
        months = {m for _d, m in wanted}
        for pk, district, month, source in Payroll.objects.filter(
            district_id__in=districts, month__in=months
        ).values_list("pk", "district_id", "month", "source"):
            if source == PayrollSource.LEGACY:
                self._ids[(district, month)] = pk
            else:
                self._ours.add((district, month))

    def problem(self, district: str, month: dt.date) -> str:
        """Why a legacy month cannot be recorded ('' if it can)."""
        if (district, month) in self._ours:
            return OURS_ALREADY.format(district=district, month=month)
        return ""

    def id_for(self, district: str, month: dt.date) -> int:
        key = (district, month)
        if key not in self._ids:
            payroll = Payroll.objects.create(
                district_id=district,
                month=month,
                status=PayrollStatus.LOCKED,
                source=PayrollSource.LEGACY,
                run_at=timezone.now(),
                locked_at=timezone.now(),
            )
            self._ids[key] = payroll.pk
        self.touched.add(self._ids[key])
        return self._ids[key]


def legacy_line(
    *,
    payroll_id: int,
    grant_id: int,
    person_id: int,
    street_id: str,
    kind: str,
    month: dt.date,
    amount: Decimal,
) -> dict:
    """A month the former system paid: a regular line, paid at the bank (as the values of a
    `PayrollLine`, for a bulk insert)."""
    return {
        "payroll_id": payroll_id,
        "grant_id": grant_id,
        "person_id": person_id,
        "street_id": street_id,
        "kind": kind,
        "month_for": month,
        "amount": amount,
        "line_type": LineType.REGULAR,
        "bank_status": BankStatus.PAID,
        "bank_note": "原系统发放",
    }


def refresh_totals(payroll_ids: Iterable[int]) -> None:
    """Totals and line counts of legacy payrolls after lines were added or changed."""
    ids = list(payroll_ids)
    if not ids:
        return
    sums = {
        row["payroll_id"]: row
        for row in PayrollLine.objects.filter(payroll_id__in=ids)
        .values("payroll_id")
        .annotate(total=Sum("amount"), n=Count("id"))
    }
    payrolls = list(Payroll.objects.filter(pk__in=ids))
    for payroll in payrolls:
        row = sums.get(payroll.pk, {"total": Decimal("0.00"), "n": 0})
        payroll.total, payroll.line_count = row["total"] or Decimal("0.00"), row["n"]
    Payroll.objects.bulk_update(payrolls, ["total", "line_count"])


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


class Standards:
    """Every standard in memory, to say what Kangfu would pay for a kind, grade and month."""

    def __init__(self) -> None:
        self.rows = list(
            Standard.objects.values_list(
                "region_id", "kind", "grade_min", "grade_max", "amount", "valid_from", "valid_to"
            )
        )
        self._known: dict[tuple, Decimal | None] = {}

    def amount(self, *, district: str, kind: str, grade: int, month: dt.date) -> Decimal | None:
        key = (district, kind, grade, month)
        if key not in self._known:  # a handful of distinct answers serve a million lines
            self._known[key] = self._amount(district=district, kind=kind, grade=grade, month=month)
        return self._known[key]

    def _amount(self, *, district: str, kind: str, grade: int, month: dt.date) -> Decimal | None:
        city = district[:4].ljust(12, "0")
        found: dict[str, Decimal] = {}
        for region, k, low, high, amount, start, end in self.rows:
            in_force = start <= month and (end is None or end >= month)
            if k == kind and low <= grade <= high and in_force and region in (district, city):
                found[region] = amount
        return found.get(district, found.get(city))
