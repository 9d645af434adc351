"""The services' statistics pages (精康, 辅具租赁, 两项补贴's indicators) cost the same statements for 3 rows of what they count as for 9
(issue 16): their figures are grouped counts, one per figure, never a query per row. The rows are
grown as the services' own list tests grow them (rehab and devices test_list_queries); the number is
pinned, and the same on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import time_machine

from kangfu.core.models import Role
from kangfu.core.tests.factories import UserFactory
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.devices.tests.factories import CentreFactory
from kangfu.devices.tests.test_list_queries import _rentals
from kangfu.rehab import scales
from kangfu.rehab.tests import factories as rehab_factories
from kangfu.rehab.tests.test_list_queries import NOW, Rows
from kangfu.subsidies.tests import test_list_queries as subsidies_rows

pytestmark = pytest.mark.django_db

WUQING = "120114000000"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


# page → who asks, what grows, the pinned count
PAGES = [
    ("rehab: an institution's", "/reports/rehab/", "rehab worker", 12),
    ("rehab: a district's", "/reports/rehab/", "rehab admin", 12),
    ("devices: a centre's", "/reports/devices/", "clerk", 20),  # with the centre's budgets
    ("devices: a district's", "/reports/devices/?year=2026", "devices admin", 14),
    ("subsidies: a district's indicators", "/reports/subsidies/", "subsidies admin", 19),
]


@pytest.mark.parametrize(("url", "who", "pinned"), [pytest.param(*page[1:], id=page[0]) for page in PAGES])
def test_a_statistics_page_costs_the_same_queries_for_three_rows_as_for_nine(client, url, who, pinned):
    if who.startswith("rehab"):
        scales.load()  # the outcome table names the current scales
        institution = rehab_factories.institution()
        worker = rehab_factories.worker(institution)
        admin = rehab_factories.district_admin()
        rows = Rows(admin, worker, institution)
        client.force_login(worker if who == "rehab worker" else admin)
        grow = rows.cases
    elif who.startswith("subsidies"):
        hexi = UserFactory(username="quju", role=Role.DISTRICT_ADMIN, jurisdiction_id=subsidies_rows.HEXI)
        community = UserFactory(
            username="shequ", role=Role.COMMUNITY_WORKER, jurisdiction_id=subsidies_rows.JIUJIANGLU
        )
        street = UserFactory(
            username="jiedao", role=Role.STREET_OFFICER, jurisdiction_id=subsidies_rows.DAYINGMEN
        )
        client.force_login(hexi)

        def grow(n: int) -> None:
            # Recipients being paid, and applications waiting at the district's step.
            subsidies_rows._recipients(n)
            subsidies_rows._applications(n, passed_by=(community, street))
    else:
        centre = CentreFactory()
        clerk = UserFactory(
            username="clerk", role=Role.DEVICE_CLERK, organisation=centre, jurisdiction_id=WUQING
        )
        admin = UserFactory(username="wuqing.admin", role=Role.DISTRICT_ADMIN, jurisdiction_id=WUQING)
        client.force_login(clerk if who == "clerk" else admin)

        def grow(n: int) -> None:
            _rentals(clerk, centre, n)

    few, many = at_two_sizes(client, url, grow, lists_rows=False)
    assert (few, many) == (pinned, pinned)


def test_the_old_addresses_redirect_for_good_with_their_query_string(client):
    response = client.get("/subsidies/indicators/", {"export": "xlsx"})
    assert (response.status_code, response["Location"]) == (301, "/reports/subsidies/?export=xlsx")
    client.force_login(rehab_factories.district_admin())
    response = client.get("/rehab/stats/", {"year": 2025})
    assert (response.status_code, response["Location"]) == (301, "/reports/rehab/?year=2025")
    response = client.get("/devices/stats/", {"year": 2025, "export": "xlsx"})
    assert (response.status_code, response["Location"]) == (301, "/reports/devices/?year=2025&export=xlsx")
    assert client.get("/reports/rehab/", {"year": 2025}).status_code == 200
