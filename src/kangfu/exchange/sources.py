"""The row sources a layout may name: each reads one service's records of a region and month as a
single streamed query (rows as dicts, never a query per row nor the whole month in memory).

A source declares its fields: what a layout's column may name, of which kind (how it can be
formatted) and, for a coded field, the values our system holds, so that a layout's code table is
checked against them when it is defined rather than when a file is half written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from kangfu.core.models import LEVEL_DIGITS, RegionLevel, level_of_code
from kangfu.core.months import add_months

CHUNK = 2000


@dataclass(frozen=True)
class Field:
    label: str
    kind: str = "text"  # text | date | money | int | code
    values: tuple[str, ...] = ()  # the values a coded field holds (a code table maps each)


@dataclass(frozen=True)
class Context:
    """What a batch asks of a source: a region (district or city code), a month, and for the changes
    layout the instant of the previous batch (late changes of earlier months recorded since)."""

    region: str
    period: dt.date
    since: dt.datetime | None = None


@dataclass(frozen=True)
class Source:
    code: str
    label: str
    fields: dict[str, Field]
    queryset: Callable[[Context], QuerySet]

    def rows(self, ctx: Context) -> Iterator[dict]:
        return self.queryset(ctx).iterator(chunk_size=CHUNK)

    def count(self, ctx: Context) -> int:
        return self.queryset(ctx).count()


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    SOURCES[source.code] = source
    return source


def district_range(column: str, region: str) -> Q:
    """Rows whose district column lies under the region: one district, or every district of a city
    (a range of codes, indexable where a LIKE is not)."""
    level = level_of_code(region)
    if level >= RegionLevel.DISTRICT:
        return Q(**{column: region[:6].ljust(12, "0")})
    prefix = region[: LEVEL_DIGITS[level]]
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return Q(**{f"{column}__gte": prefix.ljust(12, "0"), f"{column}__lt": upper.ljust(12, "0")})


SEX = ("M", "F")
CATEGORY = tuple(str(n) for n in range(1, 8))
GRADE = tuple(str(n) for n in range(1, 5))


def _person(prefix: str) -> dict[str, F]:
    return {
        "name": F(f"{prefix}name"),
        "id_number": F(f"{prefix}id_number"),
        "sex": F(f"{prefix}sex"),
        "birth_date": F(f"{prefix}birth_date"),
    }


PERSON_FIELDS = {
    "name": Field("姓名"),
    "id_number": Field("身份证号"),
    "sex": Field("性别", "code", SEX),
    "birth_date": Field("出生日期", "date"),
}


def _subsidies() -> None:
    from kangfu.subsidies.models import (
        ChangeAction,
        GrantChange,
        GrantPeriod,
        Kind,
        LineType,
        PayrollLine,
        PayrollStatus,
        StopReason,
    )

    def period_at(grant: str, month, column: str) -> Subquery:
        # The grade and category the grant was paid at in that month: its latest period begun by then.
        return Subquery(
            GrantPeriod.objects.filter(grant_id=OuterRef(grant), from_month__lte=month)
            .order_by("-from_month", "-id")
            .values(column)[:1]
        )

    grant_fields = {
        **PERSON_FIELDS,
        "kind": Field("补贴类别", "code", tuple(Kind.values)),
        "category": Field("残疾类别", "code", CATEGORY),
        "grade": Field("残疾等级", "code", GRADE),
        "district_code": Field("区县代码"),
        "street_code": Field("街道代码"),
        "street_name": Field("街道"),
        "bank_name": Field("开户银行"),
        "bank_account": Field("银行账号"),
    }

    def changes(ctx: Context, actions: list[str]) -> QuerySet:
        return (
            GrantChange.objects.filter(district_range("grant__district_id", ctx.region), action__in=actions)
            .values(
                "id",
                "action",
                "stop_reason",
                "effective_month",
                "reason",
                **_person("grant__person__"),
                kind=F("grant__kind"),
                category=period_at("grant_id", OuterRef("effective_month"), "category"),
                grade=period_at("grant_id", OuterRef("effective_month"), "grade"),
                district_code=F("grant__district_id"),
                street_code=F("grant__street_id"),
                street_name=F("grant__street__name"),
                bank_name=F("grant__bank_name"),
                bank_account=F("grant__bank_account"),
                start_month=F("grant__start_month"),
                recorded_at=F("at"),
                application_number=F("grant__application__number"),
                applied_on=F("grant__application__applied_on"),
            )
            .order_by("grant__street_id", "grant__person_id", "grant__kind", "effective_month", "id")
        )

    def approvals(ctx: Context) -> QuerySet:
        return changes(ctx, [ChangeAction.START]).filter(effective_month=ctx.period)

    register(
        Source(
            "subsidies.approvals",
            "两项补贴：本月起发放的审批",
            {
                **grant_fields,
                "start_month": Field("起始月份", "date"),
                "application_number": Field("受理编号"),
                "applied_on": Field("申请日期", "date"),
            },
            approvals,
        )
    )

    def changed(ctx: Context) -> QuerySet:
        others = [a for a in ChangeAction.values if a != ChangeAction.START]
        this_month = Q(effective_month=ctx.period)
        if ctx.since is not None:
            # A change of an earlier month recorded after the last batch was made has not been sent.
            this_month |= Q(effective_month__lt=ctx.period, at__gt=ctx.since)
        return changes(ctx, others).filter(this_month)

    register(
        Source(
            "subsidies.changes",
            "两项补贴：变更（等级变更、暂停、恢复、停发、迁出）",
            {
                **grant_fields,
                "action": Field("变更类型", "code", tuple(a for a in ChangeAction.values if a != "start")),
                "stop_reason": Field("停发原因", "code", ("", *StopReason.values)),
                "effective_month": Field("生效月份", "date"),
                "reason": Field("变更原因"),
                "recorded_at": Field("登记时间", "date"),
            },
            changed,
        )
    )

    def payments(ctx: Context) -> QuerySet:
        # What a month paid is what its locked payroll holds: a draft may still change.
        return (
            PayrollLine.objects.filter(
                district_range("payroll__district_id", ctx.region),
                payroll__month=ctx.period,
                payroll__status=PayrollStatus.LOCKED,
            )
            .values(
                "id",
                "kind",
                "line_type",
                "month_for",
                "amount",
                "bank_status",
                **_person("person__"),
                category=period_at("grant_id", OuterRef("month_for"), "category"),
                grade=period_at("grant_id", OuterRef("month_for"), "grade"),
                district_code=F("payroll__district_id"),
                street_code=F("street_id"),
                street_name=F("street__name"),
                bank_name=F("grant__bank_name"),
                bank_account=F("grant__bank_account"),
            )
            .order_by("street_id", "person_id", "kind", "month_for", "id")
        )

    register(
        Source(
            "subsidies.payments",
            "两项补贴：本月已锁定发放的明细",
            {
                **grant_fields,
                "line_type": Field("发放类型", "code", tuple(LineType.values)),
                "month_for": Field("所属月份", "date"),
                "amount": Field("金额", "money"),
                "bank_status": Field("银行反馈", "code", ("pending", "paid", "failed")),
            },
            payments,
        )
    )


def _rehab() -> None:
    from kangfu.rehab.models import OPEN_CASE_STATES, Case, CaseStatus

    def cases(ctx: Context) -> QuerySet:
        end = add_months(ctx.period, 1)
        # The month's case list: every case open at its end, and those closed or declined within it.
        return (
            Case.objects.filter(district_range("district_id", ctx.region), referred_on__lt=end)
            .filter(Q(status__in=OPEN_CASE_STATES) | Q(referred_on__gte=ctx.period))
            .values(
                "id",
                "status",
                "referred_on",
                "enrolled_on",
                **_person("person__"),
                district_code=F("district_id"),
                community_code=F("person__community_id"),
                institution_name=F("institution__name"),
            )
            .order_by("district_id", "person__community_id", "person_id", "id")
        )

    register(
        Source(
            "rehab.cases",
            "精康：本月在册及本月转介的个案",
            {
                **PERSON_FIELDS,
                "district_code": Field("区县代码"),
                "community_code": Field("社区代码"),
                "institution_name": Field("服务机构"),
                "status": Field("个案状态", "code", tuple(CaseStatus.values)),
                "referred_on": Field("转介日期", "date"),
                "enrolled_on": Field("建档日期", "date"),
            },
            cases,
        )
    )


_subsidies()
_rehab()
