"""The recurring groups' list and a group's page cost the same statements for 3 rows as for 9, for
the institution's worker and for civil affairs (the count pinned, as for every 精康 list)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine

from kangfu.core.tests.querycount import at_two_sizes
from kangfu.rehab.services import groups
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)  # a Monday
_n = itertools.count(3000)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _case(admin, worker, institution):
    return f.enrolled_case(
        admin=admin,
        rehab_worker=worker,
        institution_org=institution,
        person=f.patient(n=next(_n)),
        on=TODAY - dt.timedelta(days=30),
    )


def _group(worker, members, title="小组"):
    return groups.group_create(
        actor=worker,
        data=groups.GroupData(
            title=title,
            form="group",
            service_type="social",
            weekdays=[0],
            starts_at=dt.time(9, 30),
            start_on=TODAY - dt.timedelta(weeks=2),
            members=[c.pk for c in members],
        ),
    )


@pytest.mark.parametrize(("who", "pinned"), [("worker", 4), ("admin", 3)])
def test_the_list_costs_the_same_for_three_groups_as_for_nine(
    who, pinned, client, admin, rehab_worker, institution
):
    def grow(n: int) -> None:
        for _ in range(n):
            _group(rehab_worker, [_case(admin, rehab_worker, institution)], title=f"小组{next(_n)}")

    client.force_login({"worker": rehab_worker, "admin": admin}[who])
    assert at_two_sizes(client, "/rehab/groups/", grow) == (pinned, pinned)


def test_a_groups_page_costs_the_same_for_three_members_as_for_nine(client, admin, rehab_worker, institution):
    group = _group(rehab_worker, [])
    meetings = list(group.meetings.filter(meets_on__lte=TODAY).order_by("meets_on"))

    def grow(n: int) -> None:
        for _ in range(n):
            case = _case(admin, rehab_worker, institution)
            groups.group_member_add(
                actor=rehab_worker, group=group, case_id=case.pk, joined_on=group.start_on
            )
        # Each time, one more meeting held by everyone in the group so far.
        meeting = meetings.pop(0)
        groups.meeting_hold(
            actor=rehab_worker,
            meeting=meeting,
            data=groups.MeetingData(
                mode="site", patients=list(group.members.values_list("case_id", flat=True))
            ),
        )

    client.force_login(rehab_worker)
    assert at_two_sizes(client, f"/rehab/groups/{group.pk}/", grow) == (11, 11)
