"""The 两项补贴 list pages that had no count pinned cost the same statements for 3 rows as for 9
(issue 16): the annual review's worklist, the visits worklist and the standards. The others
(applications, grants, payrolls, appeals, indicators) are held constant where they are tested."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine

from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.people.tests.factories import PersonFactory
from kangfu.subsidies.models import ReviewCampaign, ReviewTask, Standard
from kangfu.subsidies.services import grants

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
    ("annual review, district", "/subsidies/reviews/", "district", "reviews", 15),
    ("annual review, street", "/subsidies/reviews/", "street", "reviews", 15),
    ("visits, community", "/subsidies/visits/", "community", "visits", 13),
    ("standards, city", "/subsidies/standards/", "city", "standards", 12),
]


@pytest.mark.parametrize(("url", "who", "rows", "pinned"), [pytest.param(*p[1:], id=p[0]) for p in PAGES])
def test_a_list_page_costs_the_same_queries_for_three_rows_as_for_nine(url, who, rows, pinned, client, users):
    grow = {
        "reviews": _review_tasks(users["district"]),
        "visits": _recipients,
        "standards": _standards(users["city"]),
    }[rows]
    client.force_login(users[who])
    few, many = at_two_sizes(client, url, grow)
    assert (few, many) == (pinned, pinned)
