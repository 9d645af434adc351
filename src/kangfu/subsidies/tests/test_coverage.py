"""覆盖率 by the rules an application is judged by: the set-based eligibility and its counts."""

import datetime as dt
import random
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F
from django.test.utils import CaptureQueriesContext

from kangfu.core.models import RegionLevel, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.people.models import CertificateStatus, IncomeStatus, Person, VitalStatus
from kangfu.people.tests.factories import (
    FUJIANLU,
    HUAMING_COMMUNITY,
    JIUJIANGLU,
    RONGHUALI,
    CertificateFactory,
    IncomePeriodFactory,
    PersonFactory,
)
from kangfu.subsidies import rules, selectors
from kangfu.subsidies.models import BenefitKind, Grant, OtherBenefit, Policy, Standard
from kangfu.subsidies.services import facts
from kangfu.subsidies.tests.factories import approve

pytestmark = pytest.mark.django_db

ON = dt.date(2026, 11, 20)
HEXI = "120103000000"
DONGLI = "120110000000"
DAYINGMEN = "120103001000"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


def eligible_person(*, community=JIUJIANGLU, hukou=None, digits="42", income=IncomeStatus.DIBAO, **extra):
    """Someone both subsidies are for: a valid grade-2 certificate, a 低保 family, household here."""
    person = PersonFactory(community_code=community, hukou_region_id=hukou or community, **extra)
    CertificateFactory(person=person, digits=digits)
    if income:
        IncomePeriodFactory(person=person, status=income)
    return person


def due(user):
    figures = selectors.coverage(user, today=ON)
    return figures["living"]["due"], figures["care"]["due"]


# ------------------------------------------------------------------ the set-based rules are the rules


def test_every_rule_has_a_set_based_counterpart():
    for kind_rules in rules.RULES.values():
        assert set(kind_rules) <= set(selectors.SET_RULES)


def _varied_population(rng: random.Random, n: int) -> None:
    """People across two districts with every fact the rules read, drawn at random (seeded), with the
    edges of each date: ends the day before, ends on the day, starts the day after."""
    for i in range(n):
        residence = rng.choice([JIUJIANGLU, FUJIANLU, HUAMING_COMMUNITY])
        elsewhere = HUAMING_COMMUNITY if residence != HUAMING_COMMUNITY else JIUJIANGLU
        hukou = rng.choice(
            [
                residence,
                residence,
                residence,
                RONGHUALI,  # another community of 河西
                elsewhere,  # a community of the other district
                residence[:6] + "000000",  # known only to the district: the residence decides
                elsewhere[:6] + "000000",
                residence[:9] + "000",  # known only to the street
                None,
            ]
        )
        person = PersonFactory(
            community_code=residence,
            hukou_region_id=hukou,
            vital_status=rng.choice(
                [VitalStatus.NORMAL] * 6 + [VitalStatus.DECEASED, VitalStatus.IMPRISONED]
            ),
            born=dt.date(1940 + i % 60, 1 + i % 12, 1 + i % 28),
        )
        category, grade = rng.randint(1, 7), rng.randint(1, 4)
        certificate = rng.choice(["none", "valid", "valid", "valid", "open", "until", "expired", "cancelled"])
        if rng.random() < 0.2:  # an earlier certificate, replaced
            CertificateFactory(
                person=person, digits=f"{category}{5 - grade}", status=CertificateStatus.REPLACED
            )
        if certificate != "none":
            CertificateFactory(
                person=person,
                digits=f"{category}{grade}",
                status=CertificateStatus.CANCELLED if certificate == "cancelled" else CertificateStatus.VALID,
                expires_on={"open": None, "until": ON, "expired": ON - dt.timedelta(days=1)}.get(
                    certificate, dt.date(2030, 1, 1)
                ),
            )
        for status in IncomeStatus.values:
            if rng.random() < 0.35:
                start, end = period(rng)
                IncomePeriodFactory(person=person, status=status, start_date=start, end_date=end)
        for kind in BenefitKind.values:
            if rng.random() < 0.15:
                start, end = period(rng)
                OtherBenefit.objects.create(
                    person=person,
                    kind=kind,
                    amount=Decimal(rng.choice([0, 100, 160, 199, 200, 250, 300, 400])),
                    start_date=start,
                    end_date=end,
                )


def period(rng: random.Random) -> tuple[dt.date, dt.date | None]:
    """A period current on the day, or one that ended the day before, ends on the day or starts after."""
    before, after = ON - dt.timedelta(days=1), ON + dt.timedelta(days=1)
    return rng.choice(
        [
            (dt.date(2022, 1, 1), None),
            (dt.date(2022, 1, 1), None),
            (dt.date(2022, 1, 1), before),
            (dt.date(2022, 1, 1), ON),
            (ON, None),
            (after, None),
        ]
    )


@pytest.mark.parametrize("kind", [rules.LIVING, rules.CARE])
def test_the_set_based_rules_say_what_the_verdicts_say_on_a_varied_population(standards, kind):
    # 河西 has rules of its own: 低保 only for 生活补贴, 护理补贴 extended to intellectual and mental
    # grades 3–4, and a care standard above the city's; 东丽 follows the city.
    Policy.objects.create(region_id=HEXI, living_income_statuses="dibao", care_extra_categories="5,6")
    Standard.objects.create(
        region_id=HEXI,
        kind="care",
        grade_min=1,
        grade_max=2,
        amount=Decimal("250"),
        valid_from=dt.date(2020, 1, 1),
    )
    _varied_population(random.Random(20261120), 260)
    verdicts = {}
    for person in Person.objects.all():
        district = facts.hukou_community(person).ancestor(RegionLevel.DISTRICT)
        verdicts[person.pk] = facts.explain(person=person, kind=kind, on=ON, district=district).verdicts
    expected = {pk for pk, found in verdicts.items() if rules.eligible(found)}
    failed = {v.rule for found in verdicts.values() for v in found if not v.ok}

    assert set(selectors.eligible_people(kind, on=ON).values_list("pk", flat=True)) == expected
    # The population is varied enough to mean something: each rule turns someone away, some qualify.
    assert failed == {rule(rules.Facts(), rules.PolicyFacts()).rule for rule in rules.RULES[kind]}
    assert 10 < len(expected) < len(verdicts) - 10


def test_one_statement_counts_each_kind_as_its_own_statement_does(standards):
    # Under two districts' different terms, counting both kinds at once (the rules they share stated
    # once) finds the same people per kind as asking for each kind alone.
    Policy.objects.create(region_id=HEXI, living_income_statuses="dibao", care_extra_categories="5,6")
    _varied_population(random.Random(20261204), 200)
    kinds = (rules.LIVING, rules.CARE)
    people, rest = selectors.eligible_split(kinds, on=ON)
    both = people.aggregate(**{kind: Count("pk", filter=rest[kind]) for kind in kinds})
    alone = {kind: selectors.eligible_people(kind, on=ON).count() for kind in kinds}
    assert both == alone
    assert all(n > 5 for n in alone.values())


def test_the_rules_stated_once_for_every_kind_read_neither_kind_nor_terms():
    # `TERMS_FREE` rules are stated once for both kinds under every district's terms: that holds only
    # if their condition is the same whatever the kind and the terms.
    from kangfu.subsidies.selectors.eligibility import TERMS_FREE, Terms, _Subject

    def sql(rule, kind: str, terms: Terms) -> str:
        subject = _Subject(kind=kind, on=ON, terms=terms, place=F("place"), prefix="")
        query = selectors.placed_people().filter(selectors.SET_RULES[rule](subject)).query
        return str(query)

    plain = Terms(rules.PolicyFacts())
    other = Terms(
        rules.PolicyFacts(living_income_statuses=frozenset({"dibao"}), care_extra_categories=frozenset({5})),
        amounts=(("living", 1, Decimal("300.00")), ("care", 1, Decimal("250.00"))),
    )
    for rule in TERMS_FREE:
        assert sql(rule, rules.LIVING, plain) == sql(rule, rules.CARE, other), rule.__name__
    # and the sentinel: a rule that does read them is told apart
    assert sql(rules.higher_of_same_nature, rules.LIVING, plain) != sql(
        rules.higher_of_same_nature, rules.CARE, other
    )


def test_the_set_based_rules_follow_each_districts_policy_within_a_city(standards):
    Policy.objects.create(region_id=HEXI, living_income_statuses="dibao")
    hexi = eligible_person(community=JIUJIANGLU, income=IncomeStatus.DIBAO_EDGE)
    dongli = eligible_person(community=HUAMING_COMMUNITY, income=IncomeStatus.DIBAO_EDGE)
    assert list(selectors.eligible_people(rules.LIVING, on=ON).values_list("pk", flat=True)) == [dongli.pk]
    assert set(selectors.eligible_people(rules.CARE, on=ON).values_list("pk", flat=True)) == {
        hexi.pk,
        dongli.pk,
    }
    assert not selectors.eligible_people(rules.LIVING, on=ON, within="120103").exists()


# ------------------------------------------------------------------ the denominator


def test_an_eligible_person_counts_for_both_kinds(standards, quju):
    eligible_person()
    assert due(quju) == (1, 1)


@pytest.mark.parametrize(
    "make_ineligible",
    [
        pytest.param(lambda p: IncomePeriodFactory(person=p, status=IncomeStatus.TEKUN), id="tekun"),
        pytest.param(
            lambda p: OtherBenefit.objects.create(
                person=p,
                kind=BenefitKind.WORK_INJURY_CARE,
                amount=Decimal("800"),
                start_date=dt.date(2024, 1, 1),
            ),
            id="work-injury-care",
        ),
        pytest.param(
            lambda p: p.certificates.update(status=CertificateStatus.CANCELLED), id="certificate-cancelled"
        ),
        pytest.param(
            lambda p: p.certificates.update(expires_on=dt.date(2026, 11, 19)), id="certificate-expired"
        ),
        pytest.param(lambda p: p.certificates.all().delete(), id="no-certificate"),
        pytest.param(
            lambda p: type(p).objects.filter(pk=p.pk).update(vital_status=VitalStatus.DECEASED), id="deceased"
        ),
        pytest.param(
            lambda p: type(p).objects.filter(pk=p.pk).update(hukou_region_id=None), id="no-household"
        ),
    ],
)
def test_the_denominator_leaves_out_who_gets_neither(standards, quju, make_ineligible):
    person = eligible_person()
    make_ineligible(person)
    assert due(quju) == (0, 0)


def test_a_household_registered_in_another_district_counts_there_not_here(standards, quju, city_admin):
    eligible_person(community=JIUJIANGLU, hukou=HUAMING_COMMUNITY)  # lives in 河西, registered in 东丽
    assert due(quju) == (0, 0)
    areas = {
        a["name"]: (a["living"]["due"], a["care"]["due"])
        for a in selectors.coverage(city_admin, today=ON)["areas"]
    }
    assert areas == {"东丽区": (1, 1)}


def test_a_household_known_only_by_its_district_counts_where_the_person_lives(standards, quju):
    eligible_person(community=JIUJIANGLU, hukou=HEXI)
    eligible_person(
        community=FUJIANLU, hukou=DONGLI
    )  # the application goes to 河西, which is not the household's
    assert due(quju) == (1, 1)


@pytest.mark.parametrize(
    ("policy", "income", "expected"),
    [
        ("dibao,dibao_edge", IncomeStatus.DIBAO_EDGE, (1, 1)),
        ("dibao", IncomeStatus.DIBAO_EDGE, (0, 1)),
        ("dibao", None, (0, 1)),
        ("dibao,dibao_edge", IncomeStatus.TEKUN, (0, 0)),
    ],
)
def test_the_living_subsidy_counts_only_the_income_statuses_the_district_accepts(
    standards, quju, policy, income, expected
):
    Policy.objects.create(region_id=HEXI, living_income_statuses=policy)
    eligible_person(income=income)
    assert due(quju) == expected


@pytest.mark.parametrize(
    ("digits", "extension", "expected"),
    [
        ("41", "", (1, 1)),
        ("42", "", (1, 1)),
        ("43", "", (1, 0)),
        ("54", "", (1, 0)),
        ("63", "5,6", (1, 1)),
        ("43", "5,6", (1, 0)),
    ],
)
def test_the_care_subsidy_counts_only_the_grades_the_district_covers(
    standards, quju, digits, extension, expected
):
    Policy.objects.create(region_id=HEXI, care_extra_categories=extension)
    eligible_person(digits=digits)
    assert due(quju) == expected


def test_orphans_and_elderly_care_leave_out_one_kind_each(standards, quju):
    orphan = eligible_person()
    OtherBenefit.objects.create(person=orphan, kind=BenefitKind.ORPHAN, start_date=dt.date(2024, 1, 1))
    elderly = eligible_person()
    OtherBenefit.objects.create(
        person=elderly, kind=BenefitKind.ELDERLY_CARE, amount=Decimal("300"), start_date=dt.date(2024, 1, 1)
    )
    assert due(quju) == (1, 1)


def test_a_lower_elderly_care_allowance_leaves_the_care_subsidy_due_as_the_higher_is_paid(standards, quju):
    person = eligible_person()  # grade 2: 护理补贴 200 a month
    OtherBenefit.objects.create(
        person=person, kind=BenefitKind.ELDERLY_CARE, amount=Decimal("150"), start_date=dt.date(2024, 1, 1)
    )
    assert due(quju) == (1, 1)


def test_an_allowance_of_the_same_nature_leaves_out_only_where_it_is_not_lower(standards, quju):
    person = eligible_person()  # grade 2: 生活补贴 300, 护理补贴 200 a month
    OtherBenefit.objects.create(
        person=person, kind=BenefitKind.SAME_NATURE, amount=Decimal("250"), start_date=dt.date(2024, 1, 1)
    )
    assert due(quju) == (1, 0)


# ------------------------------------------------------------------ the rate


def test_the_rate_never_exceeds_100_and_receivers_who_are_not_eligible_are_counted_apart(
    standards, applicant, shequ, jiedao, quju
):
    approve(applicant, shequ, jiedao, quju)  # eligible and receiving both
    no_longer = eligible_person()
    approve(no_longer, shequ, jiedao, quju)
    IncomePeriodFactory(person=no_longer, status=IncomeStatus.TEKUN, start_date=dt.date(2026, 10, 1))
    moved = eligible_person()
    approve(moved, shequ, jiedao, quju)
    type(moved).objects.filter(pk=moved.pk).update(hukou_region_id=HUAMING_COMMUNITY)
    left_dibao = eligible_person()
    approve(left_dibao, shequ, jiedao, quju)
    left_dibao.income_periods.update(end_date=dt.date(2026, 10, 31))
    eligible_person()  # eligible, never applied

    figures = selectors.coverage(quju, today=ON)

    assert figures["living"] == {"due": 2, "covered": 1, "rate": Decimal("50.0"), "over": 3}
    assert figures["care"] == {"due": 3, "covered": 2, "rate": Decimal("66.7"), "over": 2}
    assert figures["over"] == 5
    assert Grant.objects.filter(status="active").count() == 8


def test_a_grant_not_yet_active_or_stopped_does_not_cover(standards, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju)
    Grant.objects.filter(kind="living").update(status="stopped")
    Grant.objects.filter(kind="care").update(start_month=dt.date(2026, 12, 1))
    figures = selectors.coverage(quju, today=ON)
    assert (figures["living"]["covered"], figures["care"]["covered"]) == (0, 0)
    assert (figures["living"]["due"], figures["care"]["due"]) == (1, 1)


def test_the_figures_are_by_street_for_a_district_and_by_community_for_a_street(
    standards, applicant, shequ, jiedao, quju
):
    approve(applicant, shequ, jiedao, quju)
    eligible_person(community=RONGHUALI)
    eligible_person(community=FUJIANLU, digits="43")
    eligible_person(community=HUAMING_COMMUNITY)

    by_street = {a["name"]: a for a in selectors.coverage(quju, today=ON)["areas"]}
    by_community = {a["name"]: a for a in selectors.coverage(jiedao, today=ON)["areas"]}

    assert set(by_street) == {"大营门街道", "下瓦房街道"}
    assert by_street["大营门街道"]["living"] == {"due": 2, "covered": 1, "rate": Decimal("50.0"), "over": 0}
    assert by_street["下瓦房街道"]["care"] == {"due": 0, "covered": 0, "rate": None, "over": 0}
    assert set(by_community) == {"九江路社区居委会", "荣华里社区居委会"}
    assert by_community["九江路社区居委会"]["care"]["rate"] == Decimal("100.0")


def test_an_outsider_sees_nothing_of_the_district(standards, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju)
    outsider = UserFactory(username="huaming", role=Role.STREET_OFFICER, jurisdiction_id="120110006000")
    figures = selectors.coverage(outsider, today=ON)
    assert figures["areas"] == []
    assert (figures["living"]["due"], figures["over"]) == (0, 0)


# ------------------------------------------------------------------ the page


def test_the_indicator_page_shows_each_kinds_rate_and_who_receives_without_being_eligible(
    login, standards, applicant, shequ, jiedao, quju
):
    approve(applicant, shequ, jiedao, quju)
    eligible_person(digits="43")
    applicant.certificates.update(expires_on=dt.date(2026, 10, 31))
    eligible_person()
    html = login(quju).get("/reports/subsidies/").content.decode()
    assert "生活补贴覆盖率" in html and "护理补贴覆盖率" in html
    assert "不符合条件仍在享受" in html
    assert "大营门街道" in html


def test_the_indicator_page_costs_the_same_queries_however_many_people(login, standards, shequ, jiedao, quju):
    def add(n):
        for i in range(n):
            approve(eligible_person(digits=["42", "43"][i % 2]), shequ, jiedao, quju)
            eligible_person(community=[RONGHUALI, FUJIANLU][i % 2])

    client = login(quju)
    add(1)
    with CaptureQueriesContext(connection) as few:
        client.get("/reports/subsidies/")
    add(4)
    IncomePeriodFactory(person=Grant.objects.first().person, status=IncomeStatus.TEKUN)
    cache.clear()  # the page's figures are counted again at most every five minutes
    with CaptureQueriesContext(connection) as many:
        client.get("/reports/subsidies/")
    assert len(few) == len(many)


def test_officers_of_one_district_share_a_count_and_another_district_counts_its_own(
    client, standards, quju, quju2
):
    """Keyed by the scope, not the account: the second officer of 河西 reads the first one's count
    (made before the new eligible person), 南开's officer counts 南开 afresh."""
    nankai = UserFactory(username="nankai.admin", role=Role.DISTRICT_ADMIN, jurisdiction_id="120104000000")

    def due_living(user) -> int:
        client.force_login(user)
        html = client.get("/reports/subsidies/").content.decode()
        return int(re.search(r"生活补贴覆盖率.*?应享 (\d+) 人", html, re.S).group(1))

    eligible_person()
    first = due_living(quju)
    eligible_person(community=RONGHUALI)
    assert due_living(quju2) == first
    assert due_living(nankai) == 0
    cache.clear()
    assert due_living(quju2) == first + 1


def test_the_indicator_page_counts_again_after_five_minutes_not_on_every_visit(
    login, standards, shequ, jiedao, quju
):
    def due_living(html: str) -> int:
        return int(re.search(r"生活补贴覆盖率.*?应享 (\d+) 人", html, re.S).group(1))

    client = login(quju)
    eligible_person()
    first = client.get("/reports/subsidies/").content.decode()
    eligible_person(community=RONGHUALI)
    with CaptureQueriesContext(connection) as again:
        second = client.get("/reports/subsidies/").content.decode()
    with (
        time_machine.travel(dt.datetime(2026, 11, 20, 10, 6, tzinfo=dt.UTC), tick=False),
        CaptureQueriesContext(connection) as later,
    ):
        third = client.get("/reports/subsidies/").content.decode()
    assert "18:00 统计" in first and "18:00 统计" in second and "18:06 统计" in third
    assert due_living(first) == due_living(second) == due_living(third) - 1
    assert len(later) > len(again) + 5
