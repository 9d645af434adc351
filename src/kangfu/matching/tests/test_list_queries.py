"""The city administrator's page of agency channels (数据交换渠道) costs the same statements for 3
channels as for 9 (issue 16): the kinds and the live token of each come in one prefetch each."""

from __future__ import annotations

import itertools

import pytest

from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.matching import agency
from kangfu.matching.services import feed_source_save

pytestmark = pytest.mark.django_db

_serial = itertools.count()


def test_the_channel_list_costs_the_same_for_3_channels_as_for_9(client):
    sources = [
        feed_source_save(actor=None, name="公安死亡", kind="death", mapping={"id_number": "身份证号"}),
        feed_source_save(actor=None, name="公安迁出", kind="move", mapping={"id_number": "身份证号"}),
    ]
    hexi = Region.objects.get(code="120103000000")

    def grow(n: int) -> None:
        for _ in range(n):
            i = next(_serial)
            agency.channel_create(
                actor=None, name=f"渠道{i}", agency=f"机构{i}", region=hexi, sources=sources
            )

    client.force_login(UserFactory(role=Role.CITY_ADMIN, jurisdiction_id="120100000000"))
    assert at_two_sizes(client, "/matching/channels/", grow) == (PINNED, PINNED)


PINNED = 9
