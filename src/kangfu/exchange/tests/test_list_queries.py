"""The send log costs the same statements for 3 batches as for 9: each row's layout, region and
requester come in the page's one query, never one each."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine

from kangfu.core.models import Region
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.exchange import services

pytestmark = pytest.mark.django_db

HEXI = "120103000000"
_months = itertools.count()
# The session (with the menu's counts), the user, the layouts, the regions to choose from, the page's count
# and its rows.
PINNED = 5


def test_the_send_log_costs_the_same_queries_for_three_batches_as_for_nine(client, district_admin):
    services.install_shipped()

    def grow(n: int) -> None:
        for _ in range(n):
            i = next(_months)
            batch = services.batch_request(
                actor=district_admin,
                code="lb-approvals",
                region=Region.objects.get(pk=HEXI),
                period=dt.date(2025 - i // 12, 12 - i % 12, 1),
            )
            services.batch_generate(batch.pk)

    client.force_login(district_admin)
    with time_machine.travel(dt.datetime(2026, 11, 12, 9, 0), tick=False):
        assert at_two_sizes(client, "/exchange/", grow) == (PINNED, PINNED)
