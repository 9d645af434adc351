"""辅具租赁's measures: rentals, their bills and the disinfection of returned units, by the outlet's region."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from kangfu.reports.measures import (
    Scope,
    Value,
    end_instant,
    grouped,
    list_url,
    register,
)

# ------------------------------------------------------------------ 辅具租赁


def _device_measures() -> None:
    from kangfu.devices.models import RENT_ACCOUNT, Charge, ChargeKind, Disinfection, Rental, RentalStatus

    code = "outlet__region_id"

    def rentals_drill(scope: Scope, key: str) -> str:
        return list_url("devices:rentals")

    def stats_drill(scope: Scope, key: str) -> str:
        return list_url("reports:devices_stats", year=scope.period.start.year)

    def started(scope: Scope) -> QuerySet:
        return Rental.objects.exclude(status=RentalStatus.CANCELLED).filter(
            start_date__range=(scope.period.start, scope.period.end)
        )

    def rentals_new(scope: Scope) -> dict[str, Value]:
        """新增租赁（笔）：起租日期在报告期内、未取消的租赁，按网点所在区划计。"""
        return grouped(started(scope), scope, code=code, value=Count("id"))

    register("devices.rentals_new", "新增租赁（笔）", drill=rentals_drill)(rentals_new)

    def people_new(scope: Scope) -> dict[str, Value]:
        """服务人数：起租日期在报告期内、未取消的租赁的承租人数（一人计一次）。"""
        return grouped(started(scope), scope, code=code, value=Count("person_id", distinct=True))

    register("devices.people_new", "服务人数", drill=rentals_drill)(people_new)

    def on_rent_qs(scope: Scope) -> QuerySet:
        end = scope.period.end
        return Rental.objects.filter(
            status__in=[RentalStatus.ACTIVE, RentalStatus.RETURNED], start_date__lte=end
        ).filter(Q(returned_on__isnull=True) | Q(returned_on__gt=end))

    def on_rent(scope: Scope) -> dict[str, Value]:
        """期末在租（笔）：报告期最后一日已交付、尚未归还的租赁。"""
        return grouped(on_rent_qs(scope), scope, code=code, value=Count("id"))

    register("devices.on_rent", "期末在租（笔）", drill=rentals_drill)(on_rent)

    def overdue(scope: Scope) -> dict[str, Value]:
        """期末逾期（笔）：期末在租的租赁中，到期日期早于报告期最后一日的。"""
        return grouped(
            on_rent_qs(scope).filter(end_date__lt=scope.period.end), scope, code=code, value=Count("id")
        )

    register("devices.overdue", "期末逾期（笔）", drill=rentals_drill)(overdue)

    def returned(scope: Scope) -> dict[str, Value]:
        """归还（笔）：归还日期在报告期内的租赁。"""
        rentals = Rental.objects.filter(returned_on__range=(scope.period.start, scope.period.end))
        return grouped(rentals, scope, code=code, value=Count("id"))

    register("devices.returned", "归还（笔）", drill=rentals_drill)(returned)

    def charges(scope: Scope, kinds) -> QuerySet:
        return Charge.objects.filter(
            kind__in=list(kinds), rental__start_date__range=(scope.period.start, scope.period.end)
        )

    def rent_income(scope: Scope) -> dict[str, Value]:
        """租金收入（元）：起租日期在报告期内的租赁的租金账（租金、补贴、优惠、逾期费、损坏赔偿）之和，即承租人应付。"""
        return grouped(charges(scope, RENT_ACCOUNT), scope, code=f"rental__{code}", value=Sum("amount"))

    register("devices.rent_income", "租金收入（元）", kind="money", drill=stats_drill)(rent_income)

    def spent(kind: str, label: str, doc: str) -> None:
        def compute(scope: Scope) -> dict[str, Value]:
            out = grouped(charges(scope, [kind]), scope, code=f"rental__{code}", value=Sum("amount"))
            return {k: -v if v is not None else None for k, v in out.items()}

        compute.__doc__ = doc
        register(f"devices.{kind}", label, kind="money", drill=stats_drill)(compute)

    spent(
        ChargeKind.SUBSIDY,
        "租赁补贴支出（元）",
        "租赁补贴支出（元）：起租日期在报告期内的租赁中困难残疾人租赁补贴的金额。",
    )
    spent(
        ChargeKind.DISCOUNT,
        "租金优惠支出（元）",
        "租金优惠支出（元）：起租日期在报告期内的租赁中老年人、伤病人员租金优惠的金额。",
    )

    def disinfections(scope: Scope) -> dict[str, Value]:
        """消毒合格（次）：完成时间在报告期内、检查合格的清洗消毒次数，按设备所在网点的区划计。"""
        rows = Disinfection.objects.filter(
            passed=True,
            finished_at__gte=timezone.make_aware(dt.datetime.combine(scope.period.start, dt.time.min)),
            finished_at__lt=end_instant(scope.period),
        )
        return grouped(rows, scope, code="unit__outlet__region_id", value=Count("id"))

    register("devices.disinfections", "消毒合格（次）", drill=stats_drill)(disinfections)


_device_measures()
