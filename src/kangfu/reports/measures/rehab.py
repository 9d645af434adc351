"""精康's measures: the rosters (在册), the cases and what was delivered to them, and the monthly counters."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from kangfu.core.models import Region, RegionLevel
from kangfu.reports.measures import (
    MEASURES,
    Measure,
    Scope,
    Value,
    grouped,
    list_url,
    register,
    register_rate,
)

# ------------------------------------------------------------------ 精康


def _rehab_measures() -> None:
    from kangfu.rehab.models import MonthlyCount, RegisteredPerson, ServiceType
    from kangfu.rehab.models.counters import ServedMonth
    from kangfu.rehab.selectors import TARGETS

    def served_months(scope: Scope) -> QuerySet:
        # The counter of served months (kept by the services that record attendance and follow-ups,
        # rebuilt by recount): a report's period is whole months, so "served in the period" is "served
        # in one of its months", and the quarter's attendances are not read.
        return ServedMonth.objects.filter(month__gte=scope.period.start, month__lte=scope.period.end)

    def stats_drill(scope: Scope, key: str) -> str:
        return list_url("reports:rehab_stats", year=scope.period.start.year)

    def activities_drill(scope: Scope, key: str) -> str:
        return list_url("rehab:activities")

    def registered_qs(scope: Scope) -> QuerySet:
        return RegisteredPerson.objects.filter(listed_on__lte=scope.period.end)

    def registered(scope: Scope) -> dict[str, Value]:
        """在册人数：报告期末在本区卫健、残联名单上（名单日期不晚于期末）的人数。"""
        return grouped(registered_qs(scope), scope, code="district_id", value=Count("id"))

    register("rehab.registered", "在册人数", drill=stats_drill)(registered)

    def registered_served(scope: Scope) -> dict[str, Value]:
        """在册人员中接受服务人数：在册人员中，报告期内参加过服务活动（本人出勤，不含家属）或接受过随访的人，
        不论在哪个机构接受服务；按其在册区计。"""
        served = served_months(scope).filter(person_id=OuterRef("person_id"))
        return grouped(
            registered_qs(scope).filter(Exists(served)),
            scope,
            code="district_id",
            value=Count("id"),
        )

    register("rehab.registered_served", "在册人员中接受服务人数", drill=stats_drill)(registered_served)
    register_rate(
        "rehab.coverage",
        "规范服务覆盖率（%）",
        parts=("rehab.registered_served", "rehab.registered"),
        doc="规范服务覆盖率 = 在册人员中接受服务人数 ÷ 在册人数 × 100%（报告期内接受过服务即计入）。",
        drill=stats_drill,
    )

    def target(scope: Scope) -> dict[str, Value]:
        """年度目标（%）：在册患者接受规范服务的比例目标，2023/2024/2025 年 30/45/60%（精康融合行动），
        此后沿用最后一年的目标。"""
        year = scope.period.start.year
        value = TARGETS.get(year, TARGETS[max(TARGETS)] if year > max(TARGETS) else None)
        return {"": Decimal(value) if value is not None else None}

    MEASURES["rehab.target"] = Measure(
        "rehab.target",
        "年度目标（%）",
        "target",
        (target.__doc__ or "").strip(),
        target,
        frozenset({"unit", "region", "service_type", "subsidy_kind"}),
        app="rehab",
    )

    def served(scope: Scope) -> dict[str, Value]:
        """接受服务人数：本区服务机构的服务档案中，报告期内本人参加过服务活动或接受过随访的人数（一人计一次）。"""
        return grouped(
            served_months(scope), scope, code="district_id", value=Count("person_id", distinct=True)
        )

    register("rehab.served", "接受服务人数", drill=activities_drill)(served)

    def counties(scope: Scope) -> dict[str, Value]:
        """区县数：填报单位内现行的区县数（区级填报为 1）。"""
        districts = Region.objects.filter(level=RegionLevel.DISTRICT, successor__isnull=True)
        return grouped(districts, scope, code="code", value=Count("code"))

    register("rehab.counties", "区县数")(counties)

    def counters(scope: Scope, measure: str, **filters) -> QuerySet:
        return MonthlyCount.objects.filter(
            measure=measure, month__gte=scope.period.start, month__lte=scope.period.end, n__gt=0, **filters
        )

    def counties_served(scope: Scope) -> dict[str, Value]:
        """开展服务的区县数：报告期内有服务活动记录的区县数（区级填报为 1 或 0）。读计数表。"""
        return grouped(
            counters(scope, "activities"),
            scope,
            code="district_id",
            value=Count("district_id", distinct=True),
        )

    register("rehab.counties_served", "开展服务的区县数", drill=activities_drill)(counties_served)
    register_rate(
        "rehab.county_rate",
        "开展服务区县比例（%）",
        parts=("rehab.counties_served", "rehab.counties"),
        doc="开展服务区县比例 = 开展服务的区县数 ÷ 区县数 × 100%（目标 2023/2024/2025 年 50/65/80%）。",
    )

    def counted(measure: str, label: str, doc: str, key: str | None = None):
        def compute(scope: Scope) -> dict[str, Value]:
            filters = {"key": key} if key is not None else {}
            return grouped(
                counters(scope, measure, **filters),
                scope,
                code="district_id",
                value=Sum("n"),
                keys={"service_type": "key"},
            )

        compute.__doc__ = doc
        dims = ("unit",) if key is not None or measure.startswith("follow") else ("unit", "service_type")
        return register(
            f"rehab.{measure}" + (f".{key}" if key is not None else ""),
            label,
            dims=dims,
            drill=activities_drill,
        )(compute)

    counted(
        "activities",
        "服务活动（次）",
        "服务活动次数：报告期内各机构记录的服务活动（个案与小组）次数。读月度计数表。",
    )
    counted(
        "patient_times",
        "服务患者（人次）",
        "服务患者人次：报告期内服务活动的患者出勤人次（不含家属）。读月度计数表。",
    )
    counted(
        "family_times", "服务家属（人次）", "服务家属人次：报告期内服务活动的家属出勤人次。读月度计数表。"
    )
    counted("follow_ups", "完成随访（次）", "完成随访次数：报告期内完成的随访次数。读月度计数表。")
    counted(
        "follow_ups_late",
        "逾期完成随访（次）",
        "逾期完成随访：报告期内完成、但晚于应随访日期的随访次数。读月度计数表。",
    )
    _staff_measures()
    for service in ServiceType:
        counted(
            "patient_times",
            f"{service.label}（人次）",
            f"{service.label}服务患者人次：报告期内该类服务活动的患者出勤人次。读月度计数表。",
            key=service.value,
        )


def _staff_measures() -> None:
    import datetime as dt

    from django.db.models import DecimalField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from kangfu.rehab.models import PEER_TRAINING_HOURS_REQUIRED, StaffMember, Training
    from kangfu.rehab.selectors import TRAINING_HOURS_REQUIRED, trained_q

    def on_staff(scope: Scope) -> QuerySet:
        end = scope.period.end
        return StaffMember.objects.filter(direct_service=True).filter(
            Q(joined_on__isnull=True) | Q(joined_on__lte=end), Q(left_on__isnull=True) | Q(left_on__gt=end)
        )

    def staff(scope: Scope) -> dict[str, Value]:
        """直接服务人员数：报告期末在职的直接服务人员（入职不晚于期末、期末未离职），按所在机构或站点的区划计。"""
        return grouped(on_staff(scope), scope, code="organisation__region_id", value=Count("id"))

    register("rehab.staff", "直接服务人员数", drill=lambda scope, key: list_url("rehab:institutions"))(staff)

    def staff_trained(scope: Scope) -> dict[str, Value]:
        hours = (
            Training.objects.filter(
                staff_id=OuterRef("pk"),
                held_on__gte=dt.date(scope.period.start.year, 1, 1),
                held_on__lte=scope.period.end,
            )
            .values("staff_id")
            .annotate(total=Sum("hours"))
            .values("total")
        )
        trained = on_staff(scope).annotate(
            hours=Coalesce(
                Subquery(hours), Decimal(0), output_field=DecimalField(max_digits=7, decimal_places=1)
            )
        )
        return grouped(
            trained.filter(trained_q()),
            scope,
            code="organisation__region_id",
            value=Count("id"),
        )

    staff_trained.__doc__ = (
        f"培训达标人数：直接服务人员中，本年初至报告期末培训学时累计达到 {TRAINING_HOURS_REQUIRED} 学时的人数"
        f"（同伴支持员 {PEER_TRAINING_HOURS_REQUIRED} 学时；年度要求，精康 rehab.selectors.hours_required）。"
    )
    register("rehab.staff_trained", "培训达标人数", drill=lambda scope, key: list_url("rehab:institutions"))(
        staff_trained
    )
    register_rate(
        "rehab.training_rate",
        "培训达标率（%）",
        parts=("rehab.staff_trained", "rehab.staff"),
        doc="培训达标率 = 培训达标人数 ÷ 直接服务人员数 × 100%。",
    )


_rehab_measures()
