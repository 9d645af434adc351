"""The 两项补贴 list pages cost the same statements for 3 rows as for 9, and the number is pinned
(issue 16): the annual review's worklist, the visits worklist and the standards, which had no count
test, and the home worklist, applications and grants, which were held equal at two sizes without a
number (payrolls and appeals are, in test_views and test_appeals; the indicators, now 统计's, in
reports/tests/test_stats_queries.py)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine

from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.models import ReviewCampaign, ReviewTask, Standard
from kangfu.subsidies.services import applications, grants
from kangfu.subsidies.tests.factories import submit

pytestmark = pytest.mark.django_db

HEXI = "120103000000"
DAYINGMEN = "120103001000"
JIUJIANGLU = "120103001001"
_years = itertools.count(0)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC), tick=False):
        yield


def _recipients(n: int) -> list:
    """n people of 九江路社区 with a care grant being paid."""
    people = []
    for _ in range(n):
        person = PersonFactory(community_code=JIUJIANGLU)
        grants.grant_migrate(
            actor=None,
            person=person,
            kind="care",
            district=HEXI,
            street=DAYINGMEN,
            start_month=dt.date(2026, 1, 1),
            grade=1,
            category=4,
            bank_name="银行",
            bank_account="6222020000001234567",
        )
        people.append(person)
    return people


def _applications(n: int, *, passed_by=()) -> None:
    """n applications filed online by people of 九江路社区, passed by `passed_by` (the community's
    and the street's clerks, to wait at the district's step), else waiting at the community's."""
    for _ in range(n):
        person = PersonFactory(community_code=JIUJIANGLU)
        CertificateFactory(person=person, digits="42")
        IncomePeriodFactory(person=person)
        application = submit(person, applied_on=dt.date(2026, 11, 10))
        for actor in passed_by:
            application = applications.application_decide(
                actor=actor, application=application, decision="pass", opinion="同意"
            )


def _review_tasks(admin):
    campaign = ReviewCampaign.objects.create(
        district=Region.objects.get(code=HEXI), year=2026, due_date=dt.date(2026, 12, 31), created_by=admin
    )

    def grow(n: int) -> None:
        for person in _recipients(n):
            ReviewTask.objects.create(campaign=campaign, person=person, street_id=DAYINGMEN)

    return grow


def _standards(admin):
    def grow(n: int) -> None:
        for _ in range(n):
            # A standard of each past year, one after the other (a later one supersedes an earlier).
            year = 2000 + next(_years)
            Standard.objects.create(
                region_id=HEXI,
                kind="living",
                grade_min=1,
                grade_max=2,
                amount=100 + year % 100,
                valid_from=dt.date(year, 1, 1),
                valid_to=dt.date(year, 12, 1),
                created_by=admin,
            )

    return grow


@pytest.fixture
def users(db):
    return {
        "district": UserFactory(username="quju", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI),
        "street": UserFactory(username="jiedao", role=Role.STREET_OFFICER, jurisdiction_id=DAYINGMEN),
        "community": UserFactory(username="shequ", role=Role.COMMUNITY_WORKER, jurisdiction_id=JIUJIANGLU),
        "city": UserFactory(username="shiju", role=Role.CITY_ADMIN, jurisdiction_id="120100000000"),
    }


PAGES = [
    # name, url, who asks, what grows, the pinned count
    ("annual review, district", "/subsidies/reviews/", "district", "reviews", 6),
    ("annual review, street", "/subsidies/reviews/", "street", "reviews", 6),
    ("visits, community", "/subsidies/visits/", "community", "visits", 4),
    ("standards, city", "/subsidies/standards/", "city", "standards", 4),
    ("home worklist, community", "/subsidies/", "community", "both", 7),
    ("home worklist, district", "/subsidies/", "district", "both", 8),
    ("applications, community", "/subsidies/applications/", "community", "applications", 5),
    ("applications, district", "/subsidies/applications/", "district", "applications", 5),
    ("grants, district", "/subsidies/grants/", "district", "grants", 5),
    ("grants, street", "/subsidies/grants/", "street", "grants", 5),
]


@pytest.mark.parametrize(("url", "who", "rows", "pinned"), [pytest.param(*p[1:], id=p[0]) for p in PAGES])
def test_a_list_page_costs_the_same_queries_for_three_rows_as_for_nine(url, who, rows, pinned, client, users):
    # Applications shown to the district wait at its step: the community and the street passed them.
    passed_by = {"district": (users["community"], users["street"])}.get(who, ())
    grow = {
        "reviews": _review_tasks(users["district"]),
        "visits": _recipients,
        "standards": _standards(users["city"]),
        "applications": _applications,
        "grants": _recipients,
        "both": lambda n: (_recipients(n), _applications(n, passed_by=passed_by)),
    }[rows]
    client.force_login(users[who])
    few, many = at_two_sizes(client, url, grow, lists_rows="indicators" not in url)
    assert (few, many) == (pinned, pinned)
