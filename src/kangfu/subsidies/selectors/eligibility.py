"""Eligibility stated set-based: the rules of `kangfu.subsidies.rules` as conditions over whole tables,
so that counts (覆盖率) and lists judge people exactly as an application does."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    When,
)
from django.db.models.functions import Substr
from django.db.models.lookups import Exact, In

from kangfu.core.models import RegionLevel, level_of_code
from kangfu.core.months import month_start
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCertificate,
    IncomePeriod,
    IncomeStatus,
    Person,
    VitalStatus,
)
from kangfu.subsidies import rules
from kangfu.subsidies.models import (
    BenefitKind,
    OtherBenefit,
    Policy,
    Standard,
)
from kangfu.subsidies.services import facts

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


def _valid_certificates(who: Any, on: dt.date) -> QuerySet[DisabilityCertificate]:
    """`facts.valid_certificate`: valid and not expired on the day (at most one per person)."""
    return DisabilityCertificate.objects.filter(person_id=who, status=CertificateStatus.VALID).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=on)
    )


def _certificates(s: _Subject) -> QuerySet[DisabilityCertificate]:
    return _valid_certificates(s.who, s.on)


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


def _no_allowance_over_standard(s: _Subject, kind: str, over: Callable[[Decimal], Q]) -> Q:
    """No current allowance of `kind` that `over(standard)` selects, the standard being this
    subsidy's for the grade of the valid certificate. Grades are grouped by their standard, so the
    standard is a constant in each branch. Stated from the allowance to the certificate: few people
    have one, so for most this is one index lookup that finds nothing."""
    grades: dict[Decimal, list[int]] = defaultdict(list)
    for grade in range(1, 5):
        grades[s.terms.amount(s.kind, grade)].append(grade)
    valid = _valid_certificates(OuterRef("person_id"), s.on)
    higher = Q(pk__in=[])
    for amount, band in grades.items():
        higher |= over(amount) & Q(Exists(valid.filter(grade__in=band)))
    allowances = _current(OtherBenefit.objects.filter(person_id=s.who, kind=kind), s.on)
    return ~Q(Exists(allowances.filter(higher)))


def _not_with_elderly_care(s: _Subject) -> Q:
    """No 老年人护理补贴 higher than this subsidy's standard for the grade (择高), nor one of unknown
    amount: as rules.not_with_elderly_care."""
    return _no_allowance_over_standard(
        s, BenefitKind.ELDERLY_CARE, lambda amount: Q(amount__gt=amount) | Q(amount__lte=0)
    )


def _higher_of_same_nature(s: _Subject) -> Q:
    """No allowance of the same nature at least this subsidy's standard for the grade of the valid
    certificate: as rules.higher_of_same_nature."""
    return _no_allowance_over_standard(s, BenefitKind.SAME_NATURE, lambda amount: Q(amount__gte=amount))


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


# Rules whose condition reads neither the kind nor a district's terms: the same for every kind under
# every district's rules, so a statement counting both kinds states them once (`DistrictRules.split`).
# A test holds each to that.
TERMS_FREE: tuple[rules.Rule, ...] = (
    rules.alive,
    rules.valid_certificate,
    rules.household_in_region,
    rules.not_tekun,
    rules.no_work_injury_care,
)
# Rules most people fail (an EXISTS that admits few), stated before those that exclude the rare: both
# databases evaluate a condition's parts in order and stop at the first false one, so the others are
# then looked up for few people.
NARROWING: tuple[rules.Rule, ...] = (rules.living_income, rules.care_grade)


def _in_order(kind: str, skip: tuple[rules.Rule, ...] = ()) -> list[rules.Rule]:
    return sorted(
        (rule for rule in rules.RULES[kind] if rule not in skip),
        key=lambda rule: 0 if rule in TERMS_FREE else 1 if rule in NARROWING else 2,
    )


def eligible_q(
    kind: str, *, on: dt.date, terms: Terms, place: Any, prefix: str = "", skip: tuple[rules.Rule, ...] = ()
) -> Q:
    """`rules.eligible(rules.check(kind, …))` as one condition on rows of people (or rows reaching a
    person through `prefix`), under one district's `terms`, for the district `place` names; without
    the rules in `skip`, where the caller states them itself."""
    subject = _Subject(kind=kind, on=on, terms=terms, place=place, prefix=prefix)
    condition = Q()
    for rule in _in_order(kind, skip):
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
        common, rest = self.split((kind,), place=place, prefix=prefix)
        return common & rest[kind]

    def split(self, kinds: tuple[str, ...], *, place: Any, prefix: str = "") -> tuple[Q, dict[str, Q]]:
        """`q` of each of `kinds` as (common, {kind: rest}), with common & rest[kind] the same as
        q(kind): the terms-free rules every kind has, stated once, so that one statement can count
        several kinds, judging each person by them once."""
        shared = tuple(rule for rule in TERMS_FREE if all(rule in rules.RULES[kind] for kind in kinds))
        common = Q()
        if self.branches:
            subject = _Subject(kind="", on=self.on, terms=self.branches[0][0], place=place, prefix=prefix)
            for rule in shared:
                common &= SET_RULES[rule](subject)
        return common, {kind: self._rest(kind, place, prefix, shared) for kind in kinds}

    def _rest(self, kind: str, place: Any, prefix: str, skip: tuple[rules.Rule, ...]) -> Q:
        if len(self.branches) == 1:
            terms = self.branches[0][0]
            return eligible_q(kind, on=self.on, terms=terms, place=place, prefix=prefix, skip=skip)
        condition = Q(pk__in=[])
        for terms, parts in self.branches:
            where = Q(pk__in=[])
            for part in parts:
                where |= self.where(part, place)
            condition |= where & eligible_q(
                kind, on=self.on, terms=terms, place=place, prefix=prefix, skip=skip
            )
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


def _within_q(within: str, prefix: str = "") -> Q:
    """Placed people whose place lies in `within` and who may be eligible there: the rules place an
    eligible person in the district of their household registration, so a range over it (indexed)
    narrows the table first, and leaves out only people no district here would count. `prefix`
    reaches the person from another row ("person__" on grants, placed by `application_place`)."""
    district = within[:6]
    upper = str(int(district) + 1).zfill(len(district))
    hukou = f"{prefix}hukou_region_id"
    return Q(**{f"{hukou}__gte": district.ljust(12, "0"), f"{hukou}__lt": upper.ljust(12, "0")}) & Q(
        Exact(Substr("place", 1, len(within)), within)
    )


def eligible_people(kind: str, *, on: dt.date, within: str = "") -> QuerySet[Person]:
    """Everyone eligible for `kind` on `on` under the rules of the district their application would
    go to, whose place lies in `within`: the same people `facts.explain(…).ok` says yes to, in one query."""
    people, rest = eligible_split((kind,), on=on, within=within)
    return people.filter(rest[kind])


def eligible_split(
    kinds: tuple[str, ...], *, on: dt.date, within: str = ""
) -> tuple[QuerySet[Person], dict[str, Q]]:
    """For counting several kinds in one statement: the placed people of `within` who pass the rules
    every kind shares, and for each kind the condition on them of the rest (see `eligible_people`):
    `Count("pk", filter=rest[kind])` counts the people eligible for `kind`."""
    people = placed_people()
    if within:
        people = people.filter(_within_q(within))
    common, rest = district_rules(on=on, within=within).split(kinds, place=F("place"))
    return people.filter(common), rest


def eligible_holders(grants: QuerySet, kind: str, *, on: dt.date, within: str = "") -> QuerySet:
    """Those of `grants` whose person is eligible for `kind` and placed in `within` (as
    `eligible_people`), each with the person's `place`: for counting from a set of grants that is
    known to be smaller than the people of the area."""
    grants = grants.annotate(place=application_place("person__"))
    if within:
        grants = grants.filter(_within_q(within, prefix="person__"))
    return grants.filter(district_rules(on=on, within=within).q(kind, place=F("place"), prefix="person__"))
