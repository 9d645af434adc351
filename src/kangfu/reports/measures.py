"""The registry of measures a report definition may name as its columns.

A measure is a function of (period, reporting unit, row dimension) that answers every row at once:
{row key: value}. It reads the services' own tables, counters and selectors with a few grouped
queries (never a query per row). A rate is not computed from rows but from two other measures, its
numerator and denominator, so that a level above recomputes it from the parts it adds up.

Keys of rows: `region` → the 12-digit code of a region one level below the unit; `unit` → the unit's
own code; `service_type` → a 精康 service type; `subsidy_kind` → living / care.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.db.models.lookups import Exact
from django.urls import reverse
from django.utils import timezone

from kangfu.core.models import LEVEL_DIGITS, Region, RegionLevel, level_of_code
from kangfu.reports.rules import Period

UNKNOWN_MEASURE = "报表定义引用了不存在的指标：{codes}。"
ROWS_NOT_SUPPORTED = "指标“{label}”不能按“{rows}”分行。"
NO_COLUMNS = "报表定义至少要有一列指标。"
BAD_COLUMN = "报表定义的列应为指标代码或含 measure 的对象。"

ZERO = Decimal("0.00")
RATE = Decimal("0.1")

Value = int | Decimal | None


@dataclass(frozen=True)
class Scope:
    """What a measure answers for: a closed period, the reporting unit (a region code) and the rows."""

    period: Period
    unit: str
    rows: str

    @property
    def level(self) -> RegionLevel:
        return level_of_code(self.unit)

    @property
    def prefix(self) -> str:
        return self.unit[: LEVEL_DIGITS[self.level]]


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    kind: str  # count | money | rate | target
    doc: str
    compute: Callable[[Scope], dict[str, Value]] | None = None
    dims: frozenset[str] = frozenset({"unit"})
    parts: tuple[str, str] | None = None  # a rate's (numerator, denominator)
    drill: Callable[[Scope, str], str] | None = None
    app: str = ""

    @property
    def additive(self) -> bool:
        return self.kind in ("count", "money")


MEASURES: dict[str, Measure] = {}


def register(
    code: str,
    label: str,
    *,
    kind: str = "count",
    dims: tuple[str, ...] = ("unit",),
    drill: Callable[[Scope, str], str] | None = None,
) -> Callable:
    """Register the decorated function as the measure `code`; its docstring is the definition shown
    beside the report."""

    def decorate(fn: Callable[[Scope], dict[str, Value]]):
        MEASURES[code] = Measure(
            code,
            label,
            kind,
            (fn.__doc__ or "").strip(),
            fn,
            frozenset(dims),
            drill=drill,
            app=code.split(".")[0],
        )
        return fn

    return decorate


def register_rate(code: str, label: str, *, parts: tuple[str, str], doc: str, drill=None) -> None:
    numerator, denominator = (MEASURES[p] for p in parts)
    MEASURES[code] = Measure(
        code,
        label,
        "rate",
        doc,
        dims=numerator.dims & denominator.dims,
        parts=parts,
        drill=drill,
        app=code.split(".")[0],
    )


def rate(numerator: Value, denominator: Value) -> Decimal | None:
    """A percentage to one decimal place, or None where there is nothing to divide by."""
    if not denominator:
        return None
    return (Decimal(numerator or 0) * 100 / Decimal(denominator)).quantize(RATE)


def get(code: str) -> Measure:
    return MEASURES[code]


def validate_columns(columns: object, rows: str) -> list[dict]:
    """The columns of a definition, normalised to [{"measure", "label"}], or a ValidationError naming
    every unknown measure, or the first that cannot be grouped by the rows."""
    if not isinstance(columns, list) or not columns:
        raise ValidationError(NO_COLUMNS)
    out = []
    for column in columns:
        if isinstance(column, str):
            column = {"measure": column}
        if not isinstance(column, dict) or not isinstance(column.get("measure"), str):
            raise ValidationError(BAD_COLUMN)
        out.append({"measure": column["measure"], "label": str(column.get("label") or "")})
    unknown = [c["measure"] for c in out if c["measure"] not in MEASURES]
    if unknown:
        raise ValidationError(UNKNOWN_MEASURE.format(codes="、".join(unknown)))
    from kangfu.reports.models import RowDimension

    for column in out:
        measure = MEASURES[column["measure"]]
        if measure.kind != "target" and rows not in measure.dims:
            raise ValidationError(
                ROWS_NOT_SUPPORTED.format(label=measure.label, rows=RowDimension(rows).label)
            )
        column["label"] = column["label"] or measure.label
    return out


def base_measures(codes: list[str]) -> list[str]:
    """The measures to compute for these columns: each column's own, and a rate's parts instead of it."""
    out: list[str] = []
    for code in codes:
        measure = MEASURES[code]
        for part in measure.parts or (code,):
            if part not in out:
                out.append(part)
    return out


# ------------------------------------------------------------------ grouping helpers


def _code_range(field_name: str, prefix: str) -> Q:
    """Rows whose region code lies under `prefix`, as a range (indexable, unlike LIKE on SQLite)."""
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return Q(**{f"{field_name}__gte": prefix.ljust(12, "0"), f"{field_name}__lt": upper.ljust(12, "0")})


def _child_digits(scope: Scope) -> int:
    child = RegionLevel(min(scope.level + 1, RegionLevel.COMMUNITY))
    return LEVEL_DIGITS[child]


def grouped(
    queryset: QuerySet,
    scope: Scope,
    *,
    code: str,
    value,
    keys: dict[str, str] | None = None,
    scoped: bool = False,
) -> dict[str, Value]:
    """`value` (an aggregate) over `queryset` within the unit (by the region code in `code`), per row
    of `scope.rows`: per region one level down, the unit as a whole, or per the field `keys` names for
    a category dimension. `scoped` says the queryset is already limited to the unit."""
    if not scoped:
        queryset = queryset.filter(_code_range(code, scope.prefix))
    if scope.rows == "region":
        digits = _child_digits(scope)
        rows = queryset.values(k=Substr(code, 1, digits)).annotate(v=value).order_by()
        return {r["k"].ljust(12, "0"): r["v"] for r in rows}
    if scope.rows == "unit":
        return {scope.unit: queryset.aggregate(v=value)["v"]}
    key_field = (keys or {})[scope.rows]
    rows = queryset.values(k=F(key_field)).annotate(v=value).order_by()
    return {str(r["k"]): r["v"] for r in rows}


def _url(name: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return reverse(name) + (f"?{query}" if query else "")


def _street(scope: Scope, key: str) -> str:
    return key if scope.rows == "region" and scope.level == RegionLevel.DISTRICT else ""


def _end_instant(period: Period) -> dt.datetime:
    """The first instant after the period, in the deployment's time zone."""
    return timezone.make_aware(dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min))


# ------------------------------------------------------------------ 两项补贴


def _subsidy_measures() -> None:
    from kangfu.subsidies.models import (
        ChangeAction,
        Document,
        Grant,
        GrantChange,
        GrantPeriod,
        Kind,
        LineType,
        PayrollLine,
        PayrollStatus,
    )
    from kangfu.subsidies.selectors.eligibility import eligible_people

    dims = ("unit", "region", "subsidy_kind")

    def lines(scope: Scope) -> QuerySet:
        # A month's money is what its locked payroll holds: a draft may still change.
        return PayrollLine.objects.filter(
            payroll__status=PayrollStatus.LOCKED, payroll__month=scope.period.start
        )

    def paid_line(month: dt.date, **outer) -> Exists:
        return Exists(
            PayrollLine.objects.filter(
                line_type=LineType.REGULAR,
                month_for=month,
                payroll__status=PayrollStatus.LOCKED,
                payroll__month=month,
                **outer,
            )
        )

    def payroll_drill(scope: Scope, key: str, kind: str = "") -> str:
        return _url("subsidies:payrolls", month_from=scope.period.start, month_to=scope.period.end)

    def grants_drill(status: str, kind: str = ""):
        return lambda scope, key: _url(
            "subsidies:grants", kind=kind, status=status, street=_street(scope, key)
        )

    for kind in (Kind.LIVING, Kind.CARE):
        short = "生活补贴" if kind == Kind.LIVING else "护理补贴"

        def recipients(scope: Scope, kind=kind) -> dict[str, Value]:
            return grouped(
                lines(scope).filter(kind=kind, line_type=LineType.REGULAR, month_for=scope.period.start),
                scope,
                code="street_id",
                value=Count("grant_id", distinct=True),
                keys={"subsidy_kind": "kind"},
            )

        recipients.__doc__ = (
            f"{short}发放人数：本月已锁定的发放中，有本月“当月发放”明细的{short}资格数（一人一项补贴计一次），"
            "按明细记载的街道分行。补发、追回不计人数。"
        )
        register(f"subsidy.recipients.{kind}", f"{short}人数", dims=dims, drill=payroll_drill)(recipients)

        def paid(scope: Scope, kind=kind) -> dict[str, Value]:
            return grouped(
                lines(scope).filter(kind=kind, line_type__in=[LineType.REGULAR, LineType.ARREARS]),
                scope,
                code="street_id",
                value=Sum("amount"),
                keys={"subsidy_kind": "kind"},
            )

        paid.__doc__ = (
            f"{short}发放金额（元）：本月已锁定的发放中{short}“当月发放”与“补发”明细金额之和（应发金额，"
            "银行退回的不扣除）；追回另列。"
        )
        register(f"subsidy.paid.{kind}", f"{short}金额（元）", kind="money", dims=dims, drill=payroll_drill)(
            paid
        )

        def due(scope: Scope, kind=kind) -> dict[str, Value]:
            people = eligible_people(kind, on=scope.period.end, within=scope.prefix)
            return grouped(people, scope, code="place", value=Count("pk"), scoped=True)

        due.__doc__ = (
            f"{short}应享人数：报告期最后一日，按审批申请的同一套资格规则（人员状态正常、持有效第二代残疾人证、"
            "户籍在本区、收入状况或等级类别符合本区政策、无排斥或不低于本补贴的同类补贴）符合条件的人，"
            "按申请应受理的社区（户籍社区，户籍只登记到区或街道的按居住社区）分行。这是 Kangfu 能算出的"
            "最接近“应享”的分母：未在本系统登记的残疾人无从计入。"
        )
        register(f"subsidy.due.{kind}", f"{short}应享人数", dims=("unit", "region"))(due)

        def covered(scope: Scope, kind=kind) -> dict[str, Value]:
            month = scope.period.start
            people = eligible_people(kind, on=scope.period.end, within=scope.prefix).filter(
                Exists(
                    PayrollLine.objects.filter(
                        person_id=OuterRef("pk"),
                        kind=kind,
                        line_type=LineType.REGULAR,
                        month_for=month,
                        payroll__status=PayrollStatus.LOCKED,
                        payroll__month=month,
                    ).filter(Exact(Substr("payroll__district_id", 1, 6), Substr(OuterRef("place"), 1, 6)))
                )
            )
            return grouped(people, scope, code="place", value=Count("pk"), scoped=True)

        covered.__doc__ = (
            f"{short}已享人数：应享人数中，本月由其应受理区的已锁定发放发放了{short}（有当月发放明细）的人。"
            "故覆盖率不超过 100%；不符合条件仍在领取的不计入。"
        )
        register(f"subsidy.covered.{kind}", f"{short}已享人数", dims=("unit", "region"))(covered)
        register_rate(
            f"subsidy.coverage.{kind}",
            f"{short}覆盖率（%）",
            parts=(f"subsidy.covered.{kind}", f"subsidy.due.{kind}"),
            doc=f"{short}覆盖率 = {short}已享人数 ÷ {short}应享人数 × 100%，保留一位小数。",
            drill=lambda scope, key: _url("subsidies:indicators"),
        )

    def new(scope: Scope) -> dict[str, Value]:
        """新增：生效月份为本月的“开始发放”变更数（一项补贴计一次），按资格所属街道分行。"""
        changes = GrantChange.objects.filter(action=ChangeAction.START, effective_month=scope.period.start)
        return grouped(
            changes, scope, code="grant__street_id", value=Count("id"), keys={"subsidy_kind": "grant__kind"}
        )

    register("subsidy.new", "新增（人次）", dims=dims, drill=grants_drill("active"))(new)

    def stopped(scope: Scope) -> dict[str, Value]:
        """停发：生效月份为本月的“停发”变更数（一项补贴计一次，原因见资格记录），按资格所属街道分行。"""
        changes = GrantChange.objects.filter(action=ChangeAction.STOP, effective_month=scope.period.start)
        return grouped(
            changes, scope, code="grant__street_id", value=Count("id"), keys={"subsidy_kind": "grant__kind"}
        )

    register("subsidy.stopped", "停发（人次）", dims=dims, drill=grants_drill("stopped"))(stopped)

    def recovered(scope: Scope) -> dict[str, Value]:
        """追回金额（元）：本月已锁定的发放中“追回”明细金额之和（以正数表示）。"""
        out = grouped(
            lines(scope).filter(line_type=LineType.RECOVERY),
            scope,
            code="street_id",
            value=Sum("amount"),
            keys={"subsidy_kind": "kind"},
        )
        return {k: -v if v is not None else None for k, v in out.items()}

    register("subsidy.recovered", "追回金额（元）", kind="money", dims=dims, drill=payroll_drill)(recovered)

    def payable_grants(scope: Scope) -> QuerySet:
        month = scope.period.start
        return Grant.objects.filter(start_month__lte=month).filter(
            Q(end_month__isnull=True) | Q(end_month__gte=month),
            Exists(
                GrantPeriod.objects.filter(grant_id=OuterRef("pk"), paid=True, from_month__lte=month).filter(
                    Q(to_month__isnull=True) | Q(to_month__gte=month)
                )
            ),
        )

    def payable(scope: Scope) -> dict[str, Value]:
        """应发人次：本月处于发放期的资格数——起始月份不晚于本月、未在本月前停发，且其发放期间记载本月
        “发放”（暂停期间不计），按资格所属街道分行。"""
        return grouped(
            payable_grants(scope), scope, code="street_id", value=Count("id"), keys={"subsidy_kind": "kind"}
        )

    register("subsidy.payable", "应发人次", dims=dims, drill=grants_drill("active"))(payable)

    def paid_of_payable(scope: Scope) -> dict[str, Value]:
        """实发人次：应发人次中，本月已锁定的发放有其“当月发放”明细的资格数。"""
        month = scope.period.start
        return grouped(
            payable_grants(scope).filter(paid_line(month, grant_id=OuterRef("pk"))),
            scope,
            code="street_id",
            value=Count("id"),
            keys={"subsidy_kind": "kind"},
        )

    register("subsidy.paid_of_payable", "实发人次", dims=dims, drill=payroll_drill)(paid_of_payable)
    register_rate(
        "subsidy.payment_rate",
        "发放率（%）",
        parts=("subsidy.paid_of_payable", "subsidy.payable"),
        doc="发放率 = 实发人次 ÷ 应发人次 × 100%：处于发放期的资格中本月实际列入已锁定发放的比例；"
        "因核查被暂扣（HeldGrant）或发放尚未锁定的，使其低于 100%。",
        drill=payroll_drill,
    )

    def paid_grants_qs(scope: Scope) -> QuerySet:
        return Grant.objects.filter(paid_line(scope.period.start, grant_id=OuterRef("pk")))

    def paid_grants(scope: Scope) -> dict[str, Value]:
        """本月发放的资格数：本月已锁定的发放中有“当月发放”明细的资格，按资格所属街道分行（建档完成率的分母）。"""
        return grouped(
            paid_grants_qs(scope), scope, code="street_id", value=Count("id"), keys={"subsidy_kind": "kind"}
        )

    register("subsidy.paid_grants", "本月发放资格数", dims=dims, drill=payroll_drill)(paid_grants)

    def filed(scope: Scope) -> dict[str, Value]:
        """已建档资格数：本月发放的资格中，其申请在报告期结束前已上传至少一份申请材料（电子档案）的。"""
        documents = Document.objects.filter(
            application_id=OuterRef("application_id"), uploaded_at__lt=_end_instant(scope.period)
        )
        return grouped(
            paid_grants_qs(scope).filter(Exists(documents)),
            scope,
            code="street_id",
            value=Count("id"),
            keys={"subsidy_kind": "kind"},
        )

    register("subsidy.filed", "已建档资格数", dims=dims, drill=grants_drill("active"))(filed)
    register_rate(
        "subsidy.file_rate",
        "建档完成率（%）",
        parts=("subsidy.filed", "subsidy.paid_grants"),
        doc="建档完成率 = 已建档资格数 ÷ 本月发放资格数 × 100%：纸质材料之外，电子档案（申请材料上传）已完成的比例。"
        "迁入的原系统资格没有申请材料，计入分母，提示补建档案。",
    )


# ------------------------------------------------------------------ 精康


def _rehab_measures() -> None:
    from kangfu.rehab.models import Attendance, Case, FollowUp, MonthlyCount, RegisteredPerson, ServiceType
    from kangfu.rehab.selectors import TARGETS

    def served_in(scope: Scope, person: str) -> Q:
        first, last = scope.period.start, scope.period.end
        attended = Attendance.objects.filter(
            **{"case__person_id": OuterRef(person)}, is_family=False, activity__held_on__range=(first, last)
        )
        followed = FollowUp.objects.filter(
            **{"case__person_id": OuterRef(person)}, done_on__range=(first, last)
        )
        return Q(Exists(attended)) | Q(Exists(followed))

    def stats_drill(scope: Scope, key: str) -> str:
        return _url("rehab:stats", year=scope.period.start.year)

    def activities_drill(scope: Scope, key: str) -> str:
        return _url("rehab:activities")

    def registered_qs(scope: Scope) -> QuerySet:
        return RegisteredPerson.objects.filter(listed_on__lte=scope.period.end)

    def registered(scope: Scope) -> dict[str, Value]:
        """在册人数：报告期末在本区卫健、残联名单上（名单日期不晚于期末）的人数。"""
        return grouped(registered_qs(scope), scope, code="district_id", value=Count("id"))

    register("rehab.registered", "在册人数", drill=stats_drill)(registered)

    def registered_served(scope: Scope) -> dict[str, Value]:
        """在册人员中接受服务人数：在册人员中，报告期内参加过服务活动（本人出勤，不含家属）或接受过随访的人，
        不论在哪个机构接受服务；按其在册区计。"""
        return grouped(
            registered_qs(scope).filter(served_in(scope, "person_id")),
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
        first, last = scope.period.start, scope.period.end
        cases = Case.objects.filter(
            Q(
                Exists(
                    Attendance.objects.filter(
                        case_id=OuterRef("pk"), is_family=False, activity__held_on__range=(first, last)
                    )
                )
            )
            | Q(Exists(FollowUp.objects.filter(case_id=OuterRef("pk"), done_on__range=(first, last))))
        )
        return grouped(cases, scope, code="district_id", value=Count("person_id", distinct=True))

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
    for service in ServiceType:
        counted(
            "patient_times",
            f"{service.label}（人次）",
            f"{service.label}服务患者人次：报告期内该类服务活动的患者出勤人次。读月度计数表。",
            key=service.value,
        )


# ------------------------------------------------------------------ 辅具租赁


def _device_measures() -> None:
    from kangfu.devices.models import RENT_ACCOUNT, Charge, ChargeKind, Disinfection, Rental, RentalStatus

    code = "outlet__region_id"

    def rentals_drill(scope: Scope, key: str) -> str:
        return _url("devices:rentals")

    def stats_drill(scope: Scope, key: str) -> str:
        return _url("devices:stats", year=scope.period.start.year)

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
            finished_at__lt=_end_instant(scope.period),
        )
        return grouped(rows, scope, code="unit__outlet__region_id", value=Count("id"))

    register("devices.disinfections", "消毒合格（次）", drill=stats_drill)(disinfections)


_subsidy_measures()
_rehab_measures()
_device_measures()


# ------------------------------------------------------------------ computing a report's figures


@dataclass
class Table:
    """A report's figures before they are frozen: rows of {measure: value} and the total."""

    rows: list[dict] = field(default_factory=list)
    total: dict[str, Value] = field(default_factory=dict)


def _zero(measure: Measure) -> Value:
    return ZERO if measure.kind == "money" else 0


def compute(scope: Scope, columns: list[str], row_keys: list[tuple[str, str]]) -> Table:
    """Every row's value of every column (and of the parts of its rates), then the total: additive
    measures summed over the rows, rates recomputed from their summed parts, targets as they are.
    For `unit` rows the one row is the total."""
    codes = base_measures(columns)
    values: dict[str, dict[str, Value]] = {}
    for code in codes:
        measure = MEASURES[code]
        if measure.kind == "target":
            continue
        values[code] = measure.compute(scope)
    table = Table()
    for key, label in row_keys:
        row = {code: (values[code].get(key) if code in values else None) for code in codes}
        for code in codes:
            if MEASURES[code].additive and row[code] is None:
                row[code] = _zero(MEASURES[code])
        table.rows.append({"key": key, "label": label, "values": row})
    table.total = total_of([r["values"] for r in table.rows], codes)
    finish(table, columns, scope)
    return table


def total_of(rows: list[dict], codes: list[str]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for code in codes:
        measure = MEASURES[code]
        if measure.additive:
            out[code] = sum((r.get(code) or _zero(measure) for r in rows), _zero(measure))
    return out


def finish(table: Table, columns: list[str], scope: Scope) -> None:
    """Fill in the rates (from their parts) and the targets, on every row and the total."""
    for code in columns:
        measure = MEASURES[code]
        targets = measure.compute(scope) if measure.kind == "target" else None
        for values in [*(r["values"] for r in table.rows), table.total]:
            if measure.parts:
                values[code] = rate(values.get(measure.parts[0]), values.get(measure.parts[1]))
            elif targets is not None:
                values[code] = targets.get("")
