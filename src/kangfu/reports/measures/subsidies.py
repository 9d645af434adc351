"""两项补贴's measures: payroll lines of locked payrolls, grants and their periods and changes, and the
eligibility rules an application is judged by.

By 残疾等级 or 残疾类别, a line, change or grant counts in the row of its grant's period in force in
the month it is for (the latest period begun by then: a stop's period carries the grade it was paid
at), read by a subquery inside the one grouped statement. A grant without a period by then (none is
written so) would fall in no row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum

from kangfu.reports.measures import (
    Scope,
    Value,
    end_instant,
    grouped,
    grouped_many,
    list_url,
    register,
    register_rate,
    shared,
    street_of,
)

# ------------------------------------------------------------------ 两项补贴


def _subsidy_measures() -> None:
    from kangfu.people.models import CertificateStatus, DisabilityCertificate
    from kangfu.subsidies.models import (
        ChangeAction,
        Document,
        Grant,
        GrantChange,
        GrantPeriod,
        Kind,
        LineType,
        Payroll,
        PayrollLine,
        PayrollStatus,
    )
    from kangfu.subsidies.selectors.eligibility import eligible_holders, eligible_split

    dims = ("unit", "region", "subsidy_kind", "disability_grade", "disability_category")
    # The dimensions read from the grant's period, and the period's column each reads.
    by_period = {"disability_grade": "grade", "disability_category": "category"}
    period_keys = {dim: "period_key" for dim in by_period}
    # 应享 and 已享 (and so 覆盖率) by region, or by the grade or category of the person's certificate.
    people_dims = ("unit", "region", *by_period)

    def with_period(queryset: QuerySet, scope: Scope, *, grant: str, month) -> QuerySet:
        """`queryset` with `period_key`, the grade or category its rows are grouped by (see the
        module's docstring), when the rows ask for one; `grant` names the row's grant id and `month`
        the month it counts for (an OuterRef or a date)."""
        if scope.rows not in by_period:
            return queryset
        in_force = (
            GrantPeriod.objects.filter(grant_id=OuterRef(grant), from_month__lte=month)
            .order_by("-from_month", "-id")
            .values(by_period[scope.rows])[:1]
        )
        return queryset.annotate(period_key=Subquery(in_force))

    def with_certificate(people: QuerySet, scope: Scope, person: str = "pk") -> QuerySet:
        """Eligible `people` with `period_key`, the grade or category of their valid certificate,
        when the rows ask for one: 应享 and 已享 are counts of people, not of grants, and eligibility
        itself reads that certificate (one valid per person, not expired on the day). `person` names
        the person's id on rows that are not people."""
        if scope.rows not in by_period:
            return people
        valid = DisabilityCertificate.objects.filter(
            person_id=OuterRef(person), status=CertificateStatus.VALID
        ).values(by_period[scope.rows])[:1]
        return people.annotate(period_key=Subquery(valid))

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

    def locked_payrolls(month: dt.date) -> dict[str, list[int]]:
        """The month's locked payrolls by district (six digits): a handful of rows."""
        out: dict[str, list[int]] = {}
        for pk, district in Payroll.objects.filter(status=PayrollStatus.LOCKED, month=month).values_list(
            "pk", "district_id"
        ):
            out.setdefault(district[:6], []).append(pk)
        return out

    def payroll_drill(scope: Scope, key: str, kind: str = "") -> str:
        return list_url("subsidies:payrolls", month_from=scope.period.start, month_to=scope.period.end)

    def grants_drill(status: str, kind: str = ""):
        return lambda scope, key: list_url(
            "subsidies:grants", kind=kind, status=status, street=street_of(scope, key)
        )

    def due_counts(scope: Scope) -> dict[str, dict[str, Value]]:
        """应享 of both kinds in one statement over the unit's people, judging each person once by the
        rules the kinds share; both measures read it once per report (`shared`)."""

        def count() -> dict[str, dict[str, Value]]:
            kinds = (Kind.LIVING, Kind.CARE)
            people, rest = eligible_split(kinds, on=scope.period.end, within=scope.prefix)
            return grouped_many(
                with_certificate(people, scope),
                scope,
                code="place",
                values={kind: Count("pk", filter=rest[kind]) for kind in kinds},
                scoped=True,
                keys=period_keys,
            )

        return shared(("subsidy.due", scope), count)

    def line_sums(scope: Scope) -> dict[str, dict[str, Value]]:
        """The month's locked lines summed once per report for five measures (`shared`): per kind the
        grants with a regular line for the month ("recipients.KIND") and the regular and arrears
        money ("paid.KIND"), and the money recovered ("recovered", negative as the lines hold it).
        By grade or category each line looks up its grant's period in force: once, not once per measure."""
        month = scope.period.start
        values: dict[str, Any] = {}
        for kind in (Kind.LIVING, Kind.CARE):
            regular = Q(kind=kind, line_type=LineType.REGULAR, month_for=month)
            values[f"recipients.{kind}"] = Count("grant_id", distinct=True, filter=regular)
            values[f"paid.{kind}"] = Sum(
                "amount", filter=Q(kind=kind, line_type__in=[LineType.REGULAR, LineType.ARREARS])
            )
        values["recovered"] = Sum("amount", filter=Q(line_type=LineType.RECOVERY))
        return shared(
            ("subsidy.lines", scope),
            lambda: grouped_many(
                with_period(lines(scope), scope, grant="grant_id", month=OuterRef("month_for")),
                scope,
                code="street_id",
                values=values,
                keys={"subsidy_kind": "kind", **period_keys},
            ),
        )

    for kind in (Kind.LIVING, Kind.CARE):
        short = "生活补贴" if kind == Kind.LIVING else "护理补贴"

        def recipients(scope: Scope, kind=kind) -> dict[str, Value]:
            return line_sums(scope)[f"recipients.{kind}"]

        recipients.__doc__ = (
            f"{short}发放人数：本月已锁定的发放中，有本月“当月发放”明细的{short}资格数（一人一项补贴计一次），"
            "按明细记载的街道分行。补发、追回不计人数。"
        )
        register(f"subsidy.recipients.{kind}", f"{short}人数", dims=dims, drill=payroll_drill)(recipients)

        def paid(scope: Scope, kind=kind) -> dict[str, Value]:
            return line_sums(scope)[f"paid.{kind}"]

        paid.__doc__ = (
            f"{short}发放金额（元）：本月已锁定的发放中{short}“当月发放”与“补发”明细金额之和（应发金额，"
            "银行退回的不扣除）；追回另列。按残疾等级、类别分行时，补发计入其所属月份的等级、类别。"
        )
        register(f"subsidy.paid.{kind}", f"{short}金额（元）", kind="money", dims=dims, drill=payroll_drill)(
            paid
        )

        def due(scope: Scope, kind=kind) -> dict[str, Value]:
            return due_counts(scope)[kind]

        due.__doc__ = (
            f"{short}应享人数：报告期最后一日，按审批申请的同一套资格规则（人员状态正常、持有效第二代残疾人证、"
            "户籍在本区、收入状况或等级类别符合本区政策、无排斥或不低于本补贴的同类补贴）符合条件的人，"
            "按申请应受理的社区（户籍社区，户籍只登记到区或街道的按居住社区）分行。这是 Kangfu 能算出的"
            "最接近“应享”的分母：未在本系统登记的残疾人无从计入。按残疾等级、类别分行时，按其报告期最后一日"
            "有效的残疾人证所载等级、类别分行。"
        )
        register(f"subsidy.due.{kind}", f"{short}应享人数", dims=people_dims)(due)

        def covered(scope: Scope, kind=kind) -> dict[str, Value]:
            month = scope.period.start
            # Counted from the grants the unit's locked payrolls paid this month (one per person and
            # kind), each judged by its person's eligibility, and kept where the person's place lies
            # in the paying district. Not from the people of the area: neither database can estimate
            # how many the eligibility conditions leave, so PostgreSQL looked up "paid?" person by
            # person for everyone in the area (a third more people than paid grants in the bench's
            # city, twice as long as the whole count from the grants).
            counts: dict[str, Value] = {}
            for district, payroll_ids in locked_payrolls(month).items():
                if not (district.startswith(scope.prefix) or scope.prefix.startswith(district)):
                    continue
                paid_lines = PayrollLine.objects.filter(
                    payroll_id__in=payroll_ids, line_type=LineType.REGULAR, month_for=month
                )
                grants = Grant.objects.filter(kind=kind, pk__in=paid_lines.values("grant_id"))
                holders = eligible_holders(grants, kind, on=scope.period.end, within=scope.prefix)
                found = grouped(
                    with_certificate(holders.filter(place__startswith=district), scope, person="person_id"),
                    scope,
                    code="place",
                    value=Count("pk"),
                    scoped=True,
                    keys=period_keys,
                )
                for key, n in found.items():
                    counts[key] = (counts.get(key) or 0) + (n or 0)
            if scope.rows == "unit" and not counts:
                return {scope.unit: 0}
            return counts

        covered.__doc__ = (
            f"{short}已享人数：应享人数中，本月由其应受理区的已锁定发放发放了{short}（有当月发放明细）的人。"
            "故覆盖率不超过 100%；不符合条件仍在领取的不计入。按残疾等级、类别分行时同应享人数。"
        )
        register(f"subsidy.covered.{kind}", f"{short}已享人数", dims=people_dims)(covered)
        register_rate(
            f"subsidy.coverage.{kind}",
            f"{short}覆盖率（%）",
            parts=(f"subsidy.covered.{kind}", f"subsidy.due.{kind}"),
            doc=f"{short}覆盖率 = {short}已享人数 ÷ {short}应享人数 × 100%，保留一位小数。",
            drill=lambda scope, key: list_url("reports:subsidies_indicators"),
        )

    def changes_of(action: str, scope: Scope) -> QuerySet:
        changes = GrantChange.objects.filter(action=action, effective_month=scope.period.start)
        return with_period(changes, scope, grant="grant_id", month=scope.period.start)

    change_keys = {"subsidy_kind": "grant__kind", "stop_reason": "stop_reason", **period_keys}

    def new(scope: Scope) -> dict[str, Value]:
        """新增：生效月份为本月的“开始发放”变更数（一项补贴计一次），按资格所属街道分行。"""
        return grouped(
            changes_of(ChangeAction.START, scope),
            scope,
            code="grant__street_id",
            value=Count("id"),
            keys=change_keys,
        )

    register("subsidy.new", "新增（人次）", dims=dims, drill=grants_drill("active"))(new)

    def stopped(scope: Scope) -> dict[str, Value]:
        """停发：生效月份为本月的“停发”变更数（一项补贴计一次），按资格所属街道分行；按停发原因分行时，
        未记原因的（上线前的停发）计入“其他”。"""
        return grouped(
            changes_of(ChangeAction.STOP, scope),
            scope,
            code="grant__street_id",
            value=Count("id"),
            keys=change_keys,
        )

    stop_dims = (*dims, "stop_reason")
    register("subsidy.stopped", "停发（人次）", dims=stop_dims, drill=grants_drill("stopped"))(stopped)

    for kind in (Kind.LIVING, Kind.CARE):
        short = "生活补贴" if kind == Kind.LIVING else "护理补贴"

        def stopped_kind(scope: Scope, kind=kind) -> dict[str, Value]:
            return grouped(
                changes_of(ChangeAction.STOP, scope).filter(grant__kind=kind),
                scope,
                code="grant__street_id",
                value=Count("id"),
                keys=change_keys,
            )

        stopped_kind.__doc__ = f"{short}停发（人次）：停发中{short}的部分，口径同“停发”。"
        register(
            f"subsidy.stopped.{kind}",
            f"{short}停发（人次）",
            dims=stop_dims,
            drill=grants_drill("stopped", kind),
        )(stopped_kind)

    def recovered(scope: Scope) -> dict[str, Value]:
        """追回金额（元）：本月已锁定的发放中“追回”明细金额之和（以正数表示）。"""
        return {k: -v if v is not None else None for k, v in line_sums(scope)["recovered"].items()}

    register("subsidy.recovered", "追回金额（元）", kind="money", dims=dims, drill=payroll_drill)(recovered)

    grant_keys = {"subsidy_kind": "kind", **period_keys}

    def payable_grants(scope: Scope) -> QuerySet:
        month = scope.period.start
        grants = with_period(Grant.objects.all(), scope, grant="pk", month=month)
        return grants.filter(start_month__lte=month).filter(
            Q(end_month__isnull=True) | Q(end_month__gte=month),
            Exists(
                GrantPeriod.objects.filter(grant_id=OuterRef("pk"), paid=True, from_month__lte=month).filter(
                    Q(to_month__isnull=True) | Q(to_month__gte=month)
                )
            ),
        )

    def grant_counts(scope: Scope, name: str, grants: QuerySet, some: Q) -> dict[str, dict[str, Value]]:
        """`grants` and those of them `some` selects, by street, in one statement once per report."""
        return shared(
            (name, scope),
            lambda: grouped_many(
                grants,
                scope,
                code="street_id",
                values={"all": Count("id"), "some": Count("id", filter=some)},
                keys=grant_keys,
            ),
        )

    def payable_counts(scope: Scope) -> dict[str, dict[str, Value]]:
        """应发 ("all") and 实发 ("some")."""
        paid = paid_line(scope.period.start, grant_id=OuterRef("pk"))
        return grant_counts(scope, "subsidy.payable", payable_grants(scope), Q(paid))

    def payable(scope: Scope) -> dict[str, Value]:
        """应发人次：本月处于发放期的资格数——起始月份不晚于本月、未在本月前停发，且其发放期间记载本月
        “发放”（暂停期间不计），按资格所属街道分行。"""
        return payable_counts(scope)["all"]

    register("subsidy.payable", "应发人次", dims=dims, drill=grants_drill("active"))(payable)

    def paid_of_payable(scope: Scope) -> dict[str, Value]:
        """实发人次：应发人次中，本月已锁定的发放有其“当月发放”明细的资格数。"""
        return payable_counts(scope)["some"]

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
        grants = with_period(Grant.objects.all(), scope, grant="pk", month=scope.period.start)
        return grants.filter(paid_line(scope.period.start, grant_id=OuterRef("pk")))

    def filed_counts(scope: Scope) -> dict[str, dict[str, Value]]:
        """本月发放 ("all") and 已建档 ("some")."""
        documents = Document.objects.filter(
            application_id=OuterRef("application_id"), uploaded_at__lt=end_instant(scope.period)
        )
        return grant_counts(scope, "subsidy.filed", paid_grants_qs(scope), Q(Exists(documents)))

    def paid_grants(scope: Scope) -> dict[str, Value]:
        """本月发放的资格数：本月已锁定的发放中有“当月发放”明细的资格，按资格所属街道分行（建档完成率的分母）。"""
        return filed_counts(scope)["all"]

    register("subsidy.paid_grants", "本月发放资格数", dims=dims, drill=payroll_drill)(paid_grants)

    def filed(scope: Scope) -> dict[str, Value]:
        """已建档资格数：本月发放的资格中，其申请在报告期结束前已上传至少一份申请材料（电子档案）的。"""
        return filed_counts(scope)["some"]

    register("subsidy.filed", "已建档资格数", dims=dims, drill=grants_drill("active"))(filed)
    register_rate(
        "subsidy.file_rate",
        "建档完成率（%）",
        parts=("subsidy.filed", "subsidy.paid_grants"),
        doc="建档完成率 = 已建档资格数 ÷ 本月发放资格数 × 100%：纸质材料之外，电子档案（申请材料上传）已完成的比例。"
        "迁入的原系统资格没有申请材料，计入分母，提示补建档案。",
    )


_subsidy_measures()
