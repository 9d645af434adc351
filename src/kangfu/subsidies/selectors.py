"""Reads of 两项补贴, scoped through the access module."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.functions import Coalesce, Substr
from django.db.models.lookups import Exact, In
from django.shortcuts import get_object_or_404
from django.utils import timezone

from kangfu.core import access
from kangfu.core.models import LEVEL_DIGITS, Region, RegionLevel, User, level_of_code
from kangfu.core.months import add_months, month_start
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCertificate,
    IncomePeriod,
    IncomeStatus,
    Person,
    VitalStatus,
)
from kangfu.people.selectors import person_by_id_number
from kangfu.subsidies import rules
from kangfu.subsidies.models import (
    Appeal,
    AppealStatus,
    Application,
    ApplicationStatus,
    BankStatus,
    BenefitKind,
    ChangeAction,
    Grant,
    GrantChange,
    GrantStatus,
    HeldGrant,
    Kind,
    LineType,
    OtherBenefit,
    PaymentFormat,
    Payroll,
    PayrollLine,
    PayrollStatus,
    Policy,
    Recovery,
    RecoveryStatus,
    ReviewCampaign,
    ReviewTask,
    Standard,
    StopReason,
    Visit,
)
from kangfu.subsidies.services import facts
from kangfu.subsidies.services.reviews import half_year

NOT_A_DISTRICT_OFFICER = "发放由区民政局办理。"


def applications_for(user: User) -> QuerySet[Application]:
    return Application.objects.filter(
        access.area_q(user, city="", district="district_id", street="street_id", community="community_id")
    ).select_related("person", "community", "street")


def grants_for(user: User) -> QuerySet[Grant]:
    return Grant.objects.filter(
        access.area_q(user, district="district_id", street="street_id", community="person__community_id")
    ).select_related("person", "street")


def payrolls_for(user: User) -> QuerySet[Payroll]:
    return Payroll.objects.filter(access.area_q(user, district="district_id")).select_related("district")


def appeals_for(user: User) -> QuerySet[Appeal]:
    """Appeals about grants in the user's area, scoped as the grants are."""
    return Appeal.objects.filter(grant__in=grants_for(user)).select_related(
        "grant__person", "grant__street", "change", "lodged_by", "decided_by"
    )


def appeals_overdue(user: User, *, today: dt.date) -> int:
    """Open appeals in the user's area past the day their answer was due."""
    return appeals_for(user).filter(status=AppealStatus.LODGED, due_on__lt=today).count()


def recoveries_for(user: User) -> QuerySet[Recovery]:
    """Debts (追回) arising in payrolls the user may run, scoped as the payrolls are."""
    return Recovery.objects.filter(payroll__in=payrolls_for(user)).select_related("person", "payroll")


def open_recoveries(user: User, *, district: Region) -> QuerySet[Recovery]:
    """The district's debts still owed: the payroll page's list of money to take back."""
    return recoveries_for(user).filter(payroll__district=district, status=RecoveryStatus.OPEN)


def payroll_district(user: User) -> Region:
    """The district whose payroll the user runs: payrolls are a district's (区民政局) business."""
    region = user.jurisdiction if user.is_authenticated else None
    if region is None or region.level != RegionLevel.DISTRICT:
        raise PermissionDenied(NOT_A_DISTRICT_OFFICER)
    return region


def payment_formats() -> QuerySet[PaymentFormat]:
    """The banks' payment-file layouts to choose from (not people data: the same for everyone)."""
    return PaymentFormat.objects.all()


def standard_get(pk: int) -> Standard:
    """One standard (policy, not people data: every role may read it), or 404."""
    return get_object_or_404(Standard.objects.select_related("region"), pk=pk)


def household_regions(*, street: str = "") -> tuple[list, list]:
    """Streets of the deployment (and the chosen street's communities), for an applicant's household.
    Not scoped: a household anywhere may apply, at any counter or online (跨省通办)."""
    streets = list(Region.objects.filter(level=RegionLevel.STREET).values_list("code", "name"))
    communities = (
        list(Region.objects.filter(level=RegionLevel.COMMUNITY, parent_id=street).values_list("code", "name"))
        if street
        else []
    )
    return streets, communities


def application_steps(application: Application) -> list:
    """The steps an application has been through, oldest first (the citizen's status page too)."""
    return list(application.steps.select_related("actor"))


def application_related(application: Application) -> dict:
    """What an application's page shows besides the row: its steps and its documents."""
    return {"steps": application_steps(application), "documents": list(application.documents.all())}


def application_by_number(number: str) -> Application:
    """An application by its number, for the citizen who has just filed it (the caller checks that
    it is theirs), or 404."""
    return get_object_or_404(Application, number=number)


def application_for_citizen(*, number: str, id_number: str) -> Application | None:
    """A citizen's own application: the number and the applicant's ID number must both match."""
    person = person_by_id_number(id_number)
    if person is None:
        return None
    return Application.objects.filter(number=number, person=person).first()


def citizen_payments(application: Application) -> list[dict]:
    """Locked payments of the grants an application opened: what the status page tells the citizen."""
    return list(
        PayrollLine.objects.filter(grant__application=application, payroll__status=PayrollStatus.LOCKED)
        .values("payroll__month", "kind", "bank_status")
        .order_by("-payroll__month")
    )


def grant_related(grant: Grant) -> dict:
    """What a grant's page shows besides the row: periods, changes, recent lines, holds, appeals."""
    return {
        "periods": list(grant.periods.all()),
        "changes": list(grant.changes.select_related("actor")),
        "lines": list(grant.lines.select_related("payroll").order_by("-month_for", "-id")[:120]),
        "holds": list(grant.holds.select_related("payroll")[:20]),
        "appeals": list(grant.appeals.select_related("change", "lodged_by", "decided_by").order_by("-id")),
    }


def grant_change(grant: Grant, pk: int | None) -> GrantChange | None:
    """One of the grant's own changes (the one an appeal names), or None."""
    if pk is None:
        return None
    return GrantChange.objects.filter(grant=grant, pk=pk).first()


def campaign_size(campaign: ReviewCampaign) -> int:
    return ReviewTask.objects.filter(campaign=campaign).count()


def worklist(user: User) -> dict:
    step = access.policy(user).subsidy_step
    apps = applications_for(user)
    waiting = apps.filter(waiting_step=step) if step else apps.none()
    return {
        "waiting": waiting.order_by("applied_on")[:100],
        "returned": apps.filter(status=ApplicationStatus.RETURNED).order_by("-created_at")[:50],
        "step": step,
    }


def payroll_summary(payroll: Payroll) -> dict:
    """Totals of a payroll by street and kind, and by line type: what the approver checks before locking."""
    lines = PayrollLine.objects.filter(payroll=payroll)
    by_street: dict[str, dict] = defaultdict(
        lambda: {"living": Decimal("0.00"), "care": Decimal("0.00"), "n": 0}
    )
    for row in (
        lines.values("street__name", "kind")
        .annotate(total=Sum("amount"), n=Count("id"))
        .order_by("street__name")
    ):
        by_street[row["street__name"]][row["kind"]] = row["total"]
        by_street[row["street__name"]]["n"] += row["n"]
    by_type = {
        row["line_type"]: row["total"] for row in lines.values("line_type").annotate(total=Sum("amount"))
    }
    bank = {row["bank_status"]: row["n"] for row in lines.values("bank_status").annotate(n=Count("id"))}
    held = (
        HeldGrant.objects.filter(payroll=payroll)
        .select_related("grant__person", "grant__street")
        .order_by("grant__street_id", "grant_id")[:500]
    )
    return {
        "by_street": dict(sorted(by_street.items())),
        "by_type": {LineType(k).label: v for k, v in by_type.items()},
        "bank": {BankStatus(k).label: v for k, v in bank.items()},
        "held": held,
    }


def current_standards() -> QuerySet[Standard]:
    return Standard.objects.select_related("region").order_by("region_id", "kind", "grade_min", "-valid_from")


def indicators(user: User, *, months: int = 12, today: dt.date | None = None) -> dict:
    """Month by month, in the user's area: recipients by kind, new approvals, stops by reason, amounts
    paid, arrears and recoveries, and the rates of the seed article (覆盖率 by kind, from `coverage`).
    A few grouped queries."""
    today = today or timezone.localdate()
    last = month_start(today)
    first = add_months(last, -(months - 1))
    series = [add_months(first, i) for i in range(months)]
    grants = grants_for(user)
    lines = PayrollLine.objects.filter(
        payroll__in=payrolls_for(user).filter(status=PayrollStatus.LOCKED), month_for__isnull=False
    )
    lines = lines.filter(payroll__month__gte=first, payroll__month__lte=last)
    paid = defaultdict(lambda: defaultdict(Decimal))
    for row in lines.values("payroll__month", "line_type", "kind").annotate(total=Sum("amount")):
        paid[row["payroll__month"]][(row["line_type"], row["kind"])] = row["total"]
    recipients = defaultdict(lambda: defaultdict(int))
    for row in (
        lines.filter(line_type=LineType.REGULAR)
        .values("payroll__month", "kind")
        .annotate(n=Count("grant_id", distinct=True))
    ):
        recipients[row["payroll__month"]][row["kind"]] = row["n"]
    changes = GrantChange.objects.filter(
        grant__in=grants, effective_month__gte=first, effective_month__lte=last
    )
    starts = defaultdict(int)
    for row in changes.filter(action=ChangeAction.START).values("effective_month").annotate(n=Count("id")):
        starts[row["effective_month"]] = row["n"]
    stops = defaultdict(lambda: defaultdict(int))
    for row in (
        changes.filter(action=ChangeAction.STOP)
        .values("effective_month", "stop_reason")
        .annotate(n=Count("id"))
    ):
        stops[row["effective_month"]][row["stop_reason"]] = row["n"]
    rows = []
    for month in series:
        p = paid[month]
        rows.append(
            {
                "month": month,
                "living": recipients[month][Kind.LIVING],
                "care": recipients[month][Kind.CARE],
                "approved": starts[month],
                "stopped": sum(stops[month].values()),
                "paid": sum((v for (t, _k), v in p.items() if t != LineType.RECOVERY), Decimal("0.00")),
                "arrears": sum((v for (t, _k), v in p.items() if t == LineType.ARREARS), Decimal("0.00")),
                "recovered": -sum((v for (t, _k), v in p.items() if t == LineType.RECOVERY), Decimal("0.00")),
            }
        )
    active = grants.filter(status=GrantStatus.ACTIVE)
    # The latest month that has been paid (the current one may not be computed yet).
    latest = next((r for r in reversed(rows) if r["living"] or r["care"]), {})
    paid_now = latest.get("living", 0) + latest.get("care", 0)
    documented = active.filter(application__documents__isnull=False).values("pk").distinct().count()
    return {
        "rows": rows,
        "coverage": coverage(user, today=today),
        "payment_rate": _rate(paid_now, active.count()),
        "file_rate": _rate(documented, active.count()),
        "active": active.count(),
        "stop_reasons": {
            StopReason(reason).label if reason else "其他": n
            for reason, n in changes.filter(action=ChangeAction.STOP)
            .values_list("stop_reason")
            .annotate(n=Count("id"))
            .order_by()
        },
    }


def _rate(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator) * 100).quantize(Decimal("0.1"))


# ------------------------------------------------------------------ eligibility, set-based
#
# The rules of `kangfu.subsidies.rules` stated as one condition over a whole table, so that counts
# (覆盖率) and lists judge people exactly as an application does, in one query however many there are.
# Each rule has its counterpart in SET_RULES; a rule added to `rules.RULES` without one fails loudly.


@dataclass(frozen=True)
class Terms:
    """What a district's rules read besides the person, at a date: its policy (`facts.policy_for`)
    and this month's standard by kind and grade (`facts.standard_amount`, 0 where there is none)."""

    policy: rules.PolicyFacts
    amounts: tuple[tuple[str, int, Decimal], ...] = ()

    def amount(self, kind: str, grade: int) -> Decimal:
        return next((a for k, g, a in self.amounts if k == kind and g == grade), Decimal("0.00"))


@dataclass(frozen=True)
class _Subject:
    """The rows the rules are stated over. `prefix` reaches the person's columns ("" on people,
    "person__" on grants); `place` is an expression whose first six characters are the district
    whose rules apply (the district an application would go to, or a grant's district)."""

    kind: str
    on: dt.date
    terms: Terms
    place: Any
    prefix: str

    @property
    def who(self) -> OuterRef:
        return OuterRef(self.prefix.removesuffix("__") + "_id" if self.prefix else "pk")


def _current(queryset: QuerySet, on: dt.date) -> QuerySet:
    return queryset.filter(start_date__lte=on).filter(Q(end_date__isnull=True) | Q(end_date__gte=on))


def _certificates(s: _Subject) -> QuerySet[DisabilityCertificate]:
    """`facts.valid_certificate`: valid and not expired on the day (at most one per person)."""
    return DisabilityCertificate.objects.filter(person_id=s.who, status=CertificateStatus.VALID).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=s.on)
    )


def _incomes(s: _Subject) -> QuerySet[IncomePeriod]:
    return _current(IncomePeriod.objects.filter(person_id=s.who), s.on)


def _benefit(s: _Subject, kind: str) -> Exists:
    return Exists(_current(OtherBenefit.objects.filter(person_id=s.who, kind=kind), s.on))


def _alive(s: _Subject) -> Q:
    return Q(**{f"{s.prefix}vital_status": VitalStatus.NORMAL})


def _valid_certificate(s: _Subject) -> Q:
    return Q(Exists(_certificates(s)))


def _household_in_region(s: _Subject) -> Q:
    # Guarded against NULL so that the negation (someone receiving who is not eligible) holds too.
    hukou = f"{s.prefix}hukou_region_id"
    return Q(**{f"{hukou}__isnull": False}) & Q(Exact(Substr(hukou, 1, 6), Substr(s.place, 1, 6)))


def _living_income(s: _Subject) -> Q:
    accepted = sorted(s.terms.policy.living_income_statuses)
    if not accepted:
        return Q(pk__in=[])
    return Q(Exists(_incomes(s).filter(status__in=accepted)))


def _care_grade(s: _Subject) -> Q:
    severe = Q(grade__lte=2)
    extra = sorted(s.terms.policy.care_extra_categories)
    if extra:
        severe |= Q(category__in=extra)
    return Q(Exists(_certificates(s).filter(severe)))


def _not_tekun(s: _Subject) -> Q:
    return ~Q(Exists(_incomes(s).filter(status=IncomeStatus.TEKUN)))


def _no_work_injury_care(s: _Subject) -> Q:
    return ~Q(_benefit(s, BenefitKind.WORK_INJURY_CARE))


def _not_orphan_for_living(s: _Subject) -> Q:
    return ~Q(_benefit(s, BenefitKind.ORPHAN))


def _not_with_elderly_care(s: _Subject) -> Q:
    """No 老年人护理补贴 higher than this subsidy's standard for the grade (择高), nor one of unknown
    amount: as rules.not_with_elderly_care."""
    grades: dict[Decimal, list[int]] = defaultdict(list)
    for grade in range(1, 5):
        grades[s.terms.amount(s.kind, grade)].append(grade)
    higher = Q(pk__in=[])
    for amount, band in grades.items():
        allowance = _current(
            OtherBenefit.objects.filter(
                person_id=OuterRef("person_id"), kind=BenefitKind.ELDERLY_CARE
            ).filter(Q(amount__gt=amount) | Q(amount__lte=0)),
            s.on,
        )
        higher |= Q(grade__in=band) & Q(Exists(allowance))
    return ~Q(Exists(_certificates(s).filter(higher)))


def _higher_of_same_nature(s: _Subject) -> Q:
    """No allowance of the same nature at least this subsidy's standard for the grade of the valid
    certificate. Grades are grouped by their standard, so the standard is a constant in each branch."""
    grades: dict[Decimal, list[int]] = defaultdict(list)
    for grade in range(1, 5):
        grades[s.terms.amount(s.kind, grade)].append(grade)
    higher = Q(pk__in=[])
    for amount, band in grades.items():
        allowance = _current(
            OtherBenefit.objects.filter(
                person_id=OuterRef("person_id"), kind=BenefitKind.SAME_NATURE, amount__gte=amount
            ),
            s.on,
        )
        higher |= Q(grade__in=band) & Q(Exists(allowance))
    return ~Q(Exists(_certificates(s).filter(higher)))


SET_RULES: dict[rules.Rule, Callable[[_Subject], Q]] = {
    rules.alive: _alive,
    rules.valid_certificate: _valid_certificate,
    rules.household_in_region: _household_in_region,
    rules.not_tekun: _not_tekun,
    rules.no_work_injury_care: _no_work_injury_care,
    rules.higher_of_same_nature: _higher_of_same_nature,
    rules.living_income: _living_income,
    rules.not_orphan_for_living: _not_orphan_for_living,
    rules.care_grade: _care_grade,
    rules.not_with_elderly_care: _not_with_elderly_care,
}


def eligible_q(kind: str, *, on: dt.date, terms: Terms, place: Any, prefix: str = "") -> Q:
    """`rules.eligible(rules.check(kind, …))` as one condition on rows of people (or rows reaching a
    person through `prefix`), under one district's `terms`, for the district `place` names."""
    subject = _Subject(kind=kind, on=on, terms=terms, place=place, prefix=prefix)
    condition = Q()
    for rule in rules.RULES[kind]:
        condition &= SET_RULES[rule](subject)
    return condition


def _overlaps(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


@dataclass(frozen=True)
class DistrictRules:
    """Each district's terms at a date, for rows placed in `within` (a code prefix). Districts with
    the same terms share one branch; where one branch covers the whole of `within` (the usual case:
    the city's policy and standards), the condition has no branches at all."""

    on: dt.date
    # (terms, [(what, codes, excluded)]): what is "district" (place starts with one of codes, 6
    # digits), "city" (with one of codes, 4 digits, but not one of the excluded districts) or "rest"
    # (none of the cities or districts that have rows of their own).
    branches: tuple[tuple[Terms, tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]], ...]

    def where(self, part: tuple[str, tuple[str, ...], tuple[str, ...]], place: Any) -> Q:
        what, codes, excluded = part
        condition = Q()
        if what == "district":
            condition &= Q(In(Substr(place, 1, 6), list(codes)))
        elif what == "city":
            condition &= Q(In(Substr(place, 1, 4), list(codes)))
        elif codes:
            condition &= ~Q(In(Substr(place, 1, 4), list(codes)))
        if excluded:
            condition &= ~Q(In(Substr(place, 1, 6), list(excluded)))
        return condition

    def q(self, kind: str, *, place: Any, prefix: str = "") -> Q:
        """Eligible for `kind` under the rules of the district `place` names."""
        if len(self.branches) == 1:
            return eligible_q(kind, on=self.on, terms=self.branches[0][0], place=place, prefix=prefix)
        condition = Q(pk__in=[])
        for terms, parts in self.branches:
            where = Q(pk__in=[])
            for part in parts:
                where |= self.where(part, place)
            condition |= where & eligible_q(kind, on=self.on, terms=terms, place=place, prefix=prefix)
        return condition


def district_rules(*, on: dt.date, within: str = "") -> DistrictRules:
    """The terms of every district whose places lie in `within`, read in two queries: a district's
    own policy and standards, else its city's, else the defaults (as `facts.policy_for` and
    `facts.standard_amount` choose them for one district)."""
    month = month_start(on)
    policies = {p.region_id: p for p in Policy.objects.all()}
    standards = list(
        Standard.objects.filter(valid_from__lte=month).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=month)
        )
    )
    codes = set(policies) | {s.region_id for s in standards}
    districts = sorted(c[:6] for c in codes if level_of_code(c) == RegionLevel.DISTRICT)
    cities = sorted(c[:4] for c in codes if level_of_code(c) == RegionLevel.CITY)

    def terms(district: str, city: str) -> Terms:
        mine = [code.ljust(12, "0") for code in (district, city) if code]
        policy = next((policies[c] for c in mine if c in policies), None) or Policy()
        amounts = []
        for kind in (rules.LIVING, rules.CARE):
            for grade in range(1, 5):
                found = sorted(
                    (
                        s
                        for s in standards
                        if s.kind == kind and s.region_id in mine and s.grade_min <= grade <= s.grade_max
                    ),
                    key=lambda s: (s.region_id, s.valid_from),
                    reverse=True,
                )
                amounts.append((kind, grade, found[0].amount if found else Decimal("0.00")))
        return Terms(facts.policy_facts(policy), tuple(amounts))

    found: dict[Terms, list] = defaultdict(list)
    for d in districts:
        if _overlaps(d, within):
            found[terms(d, d[:4])].append(("district", (d,), ()))
    for c in cities:
        own = tuple(d for d in districts if d.startswith(c))
        if _overlaps(c, within) and not any(within.startswith(d) for d in own):
            found[terms("", c)].append(("city", (c,), own))
    if not any(within.startswith(code) for code in (*cities, *districts)):
        found[terms("", "")].append(("rest", tuple(cities), tuple(districts)))
    return DistrictRules(on=on, branches=tuple((t, tuple(parts)) for t, parts in found.items()))


def application_place(prefix: str = "") -> Case:
    """The community an application of the person's goes to (`facts.hukou_community`): that of the
    household registration when it is registered at community level, else of the residence.
    `prefix` reaches the person from another row ("person__" on grants)."""
    return Case(
        When(**{f"{prefix}hukou_region__level": RegionLevel.COMMUNITY}, then=F(f"{prefix}hukou_region_id")),
        default=F(f"{prefix}community_id"),
        output_field=CharField(),
    )


def placed_people(people: QuerySet[Person] | None = None) -> QuerySet[Person]:
    """People with their `place`."""
    return (Person.objects.all() if people is None else people).annotate(place=application_place())


def _within_q(within: str) -> Q:
    """Placed people whose place lies in `within` and who may be eligible there: the rules place an
    eligible person in the district of their household registration, so a range over it (indexed)
    narrows the table first, and leaves out only people no district here would count."""
    district = within[:6]
    upper = str(int(district) + 1).zfill(len(district))
    return Q(hukou_region_id__gte=district.ljust(12, "0"), hukou_region_id__lt=upper.ljust(12, "0")) & Q(
        Exact(Substr("place", 1, len(within)), within)
    )


def eligible_people(kind: str, *, on: dt.date, within: str = "") -> QuerySet[Person]:
    """Everyone eligible for `kind` on `on` under the rules of the district their application would
    go to, whose place lies in `within`: the same people `facts.explain(…).ok` says yes to, in one query."""
    people = placed_people()
    if within:
        people = people.filter(_within_q(within))
    return people.filter(district_rules(on=on, within=within).q(kind, place=F("place")))


# The regions a jurisdiction's figures are broken down by: one level below, as `reports` does.
_CHILD_DIGITS = {
    RegionLevel.PROVINCE: 4,
    RegionLevel.CITY: 6,
    RegionLevel.DISTRICT: 9,
    RegionLevel.STREET: 12,
    RegionLevel.COMMUNITY: 12,
}


def coverage(user: User, *, today: dt.date | None = None) -> dict:
    """覆盖率 of each kind in the user's jurisdiction and each region one level below it, on `today`.

    The denominator (应享) is everyone eligible under the rules an application is judged by, in
    the district the application would go to; the numerator (已享) those of them with an active grant
    of the kind in that district this month, so the rate never exceeds 100 %. Grants paid to people
    who are not (or no longer) eligible are counted apart (不符合条件仍在享受), by the grant's place,
    for officers to look into; they are in neither side of the rate. Five grouped queries, two for
    the terms and one for the names of the regions."""
    today = today or timezone.localdate()
    month = month_start(today)
    region = user.jurisdiction if user.is_authenticated else None
    kinds = {k: {"due": 0, "covered": 0, "over": 0} for k in (Kind.LIVING, Kind.CARE)}
    if region is None or not access.policy(user).reads_people:
        return _coverage_figures(today, kinds, {}, {})
    level = RegionLevel(region.level)
    within = region.code[: LEVEL_DIGITS[level]]
    child = _CHILD_DIGITS[level]
    law = district_rules(on=today, within=within)
    people = placed_people().filter(_within_q(within))
    grants = grants_for(user).filter(status=GrantStatus.ACTIVE, start_month__lte=month)
    # A community worker sees grants by residence, which may be paid by another district: judge those
    # by every district's terms. Above, grants lie in `within` like the people.
    grant_law = law if level != RegionLevel.COMMUNITY else district_rules(on=today)
    grant_area = (
        Substr("street_id", 1, child)
        if child <= LEVEL_DIGITS[RegionLevel.STREET]
        else Coalesce("application__community_id", "person__community_id")
    )
    areas: dict[str, dict] = defaultdict(lambda: {k: {"due": 0, "covered": 0, "over": 0} for k in kinds})
    for kind in kinds:
        receiving = Grant.objects.filter(
            person_id=OuterRef("pk"), kind=kind, status=GrantStatus.ACTIVE, start_month__lte=month
        ).filter(Exact(Substr("district_id", 1, 6), Substr(OuterRef("place"), 1, 6)))
        for row in (
            people.filter(law.q(kind, place=F("place")))
            .values(area=Substr("place", 1, child))
            .annotate(due=Count("pk"), covered=Count("pk", filter=Q(Exists(receiving))))
            .order_by()
        ):
            areas[row["area"]][kind]["due"] = row["due"]
            areas[row["area"]][kind]["covered"] = row["covered"]
        # A grant is rightly paid when its person is eligible in the district that pays it, as an
        # application there would find; the others are what is left. Counted as the difference, so
        # that the rules stay positive (semi- and anti-joins, not a scan per rule for the negation).
        for row in (
            grants.filter(kind=kind)
            .annotate(place=application_place("person__"))
            .filter(Exact(Substr("place", 1, 6), Substr("district_id", 1, 6)))
            .filter(grant_law.q(kind, place=F("place"), prefix="person__"))
            .values(area=grant_area)
            .annotate(n=Count("pk"))
            .order_by()
        ):
            areas[row["area"]][kind]["over"] -= row["n"]
    for row in grants.values("kind", area=grant_area).annotate(n=Count("pk")).order_by():
        areas[row["area"]][row["kind"]]["over"] += row["n"]
    for figures in areas.values():
        for kind, n in figures.items():
            for key in ("due", "covered", "over"):
                kinds[kind][key] += n[key]
    names = dict(
        Region.objects.filter(code__in=[a.ljust(12, "0") for a in areas]).values_list("code", "name")
    )
    return _coverage_figures(today, kinds, areas, names)


def _coverage_figures(today: dt.date, kinds: dict, areas: dict, names: dict) -> dict:
    def with_rate(n: dict) -> dict:
        return {**n, "rate": _rate(n["covered"], n["due"])}

    def by_kind(figures: dict, **extra) -> dict:
        living, care = with_rate(figures[Kind.LIVING]), with_rate(figures[Kind.CARE])
        return {**extra, "living": living, "care": care, "kinds": [living, care]}

    return {
        **by_kind(kinds, on=today, over=sum(n["over"] for n in kinds.values())),
        "areas": [
            by_kind(figures, code=code.ljust(12, "0"), name=names.get(code.ljust(12, "0"), code))
            for code, figures in sorted(areas.items())
        ],
    }


def grants_overview(user: User) -> dict:
    grants = grants_for(user)
    counts = {
        (row["kind"], row["status"]): row["n"]
        for row in grants.values("kind", "status").annotate(n=Count("id"))
    }
    return {"counts": counts, "recalc": grants.filter(~Q(recalc_from=None)).count()}


def review_tasks_for(user: User) -> QuerySet[ReviewTask]:
    return ReviewTask.objects.filter(
        access.area_q(
            user, district="campaign__district_id", street="street_id", community="person__community_id"
        )
    ).select_related("person", "street", "campaign")


def not_yet_seen(user: User, *, today: dt.date | None = None):
    """Recipients in the user's area with no visit in the current half-year: the visit worklist."""
    start, end = half_year(today or timezone.localdate())
    recipients = Grant.objects.filter(status=GrantStatus.ACTIVE).values("person_id")
    seen = Visit.objects.filter(visited_on__gte=start, visited_on__lte=end).values("person_id")
    people = access.scope_people(Person.objects.filter(pk__in=recipients), user).exclude(pk__in=seen)
    return people.select_related("community", "street").order_by("street_id", "community_id", "name"), (
        start,
        end,
    )


def certificates_expiring(user: User, *, today: dt.date | None = None, months: int = 6):
    """Recipients whose certificate expires within `months` months counting the current one: remind
    them to renew before payment stops (the month after expiry)."""
    today = today or timezone.localdate()
    until = add_months(month_start(today), months)
    recipients = grants_for(user).filter(status=GrantStatus.ACTIVE).values("person_id")
    return (
        DisabilityCertificate.objects.filter(
            status=CertificateStatus.VALID,
            person_id__in=recipients,
            expires_on__gte=today,
            expires_on__lt=until,
        )
        .select_related("person", "person__street")
        .order_by("expires_on")
    )
