"""Every list page of the rental business costs the same statements for 3 rows as for 9 (issue 16;
NetBox pins its lists' counts the same way). Each page is shown to the centre's clerk, with rows of
what it lists in the clerk's centre; the number is pinned, and the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine

from kangfu.core.models import Role
from kangfu.core.tests.factories import UserFactory
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.devices.models import UnitStatus
from kangfu.devices.services import rental_requests, rentals
from kangfu.devices.tests.factories import WENHUAXIANG, ProductFactory, UnitFactory
from kangfu.people.tests.factories import CertificateFactory, PersonFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)
_serial = itertools.count()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC), tick=False):
        yield


def _renter():
    person = PersonFactory(community_code=WENHUAXIANG, county="120114")
    CertificateFactory(person=person, digits="42")
    return person


def _products(centre, n: int) -> None:
    for _ in range(n):
        UnitFactory(product=ProductFactory(centre=centre, needs_fitting=False))


def _units(centre, n: int) -> None:
    product = ProductFactory(centre=centre, needs_fitting=False)
    for status in itertools.islice(itertools.cycle(UnitStatus.values), n):
        UnitFactory(product=product, status=status)


def _rentals(clerk, centre, n: int) -> None:
    """n rentals: a third reserved, a third handed over and due back within the week, a third overdue,
    so that every worklist of the centre's home page has rows."""
    product = ProductFactory(centre=centre, needs_fitting=False)
    for i in range(n):
        unit = UnitFactory(product=product)
        start = TODAY + dt.timedelta(days=2) if i % 3 == 0 else TODAY - dt.timedelta(days=20 + 10 * (i % 3))
        rental = rentals.rental_create(
            actor=clerk,
            person=_renter(),
            data=rentals.RentalData(
                unit_id=unit.pk, start_date=start, end_date=start + dt.timedelta(days=25)
            ),
            today=min(start, TODAY),
        )
        if i % 3:
            rentals.rental_handover(
                actor=clerk,
                rental=rental,
                handed_over_at=dt.datetime.combine(start, dt.time(10), tzinfo=dt.UTC),
                training_content="操作方法",
            )


def _requests(centre, n: int) -> None:
    product = ProductFactory(centre=centre, needs_fitting=False)
    UnitFactory(product=product)
    for _ in range(n):
        rental_requests.request_submit(
            data=rental_requests.RequestData(
                product_id=product.pk,
                outlet_id=centre.pk,
                name="赵市民",
                id_number=PersonFactory.build(community_code=WENHUAXIANG, county="120114").id_number,
                phone="13700001111",
                address="文华巷 1 号",
                desired_start=TODAY + dt.timedelta(days=3),
            )
        )


def _everything(clerk, centre, n: int) -> None:
    _products(centre, n)
    _units(centre, n)
    _rentals(clerk, centre, n)
    _requests(centre, n)


# page → (who asks, what grows, the pinned count). A clerk's page pays about a dozen statements
# before its rows: session, user (with its organisation), centre, the menu and its counts of pending work,
# the audit entry of the rows shown (core.pagination.audit_page) and the session's save.
PAGES = {
    "/devices/": ("clerk", _everything, 10),  # five worklists of the centre
    "/devices/catalogue/": ("clerk", _products, 7),  # products and their units' states in one count
    "/devices/units/": ("clerk", _units, 6),
    "/devices/requests/": ("clerk", _requests, 5),
    "/devices/rentals/": ("clerk", _rentals, 6),
    "/devices/rentals/?view=all": ("clerk", _rentals, 6),
    "/public/devices/": ("visitor", _products, 4),
}


@pytest.fixture
def admin(db):
    """武清区's administrator: reads the statistics of the outlets in the district."""
    return UserFactory(username="wuqing.admin", role=Role.DISTRICT_ADMIN, jurisdiction_id="120114000000")


@pytest.mark.parametrize("url", list(PAGES))
def test_a_list_page_costs_the_same_queries_for_three_rows_as_for_nine(url, client, clerk, centre, admin):
    who, rows, pinned = PAGES[url]
    if who != "visitor":
        client.force_login({"clerk": clerk, "admin": admin}[who])
    grow = {
        _everything: lambda n: _everything(clerk, centre, n),
        _rentals: lambda n: _rentals(clerk, centre, n),
    }.get(rows, lambda n: rows(centre, n))
    few, many = at_two_sizes(client, url, grow, lists_rows="/stats/" not in url)
    assert (few, many) == (pinned, pinned)
