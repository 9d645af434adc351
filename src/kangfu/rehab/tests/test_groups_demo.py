"""The demo gives 北辰 a weekly 同伴支持小组 led by its peer supporter, with meetings held (each an
activity with attendance) and the next ones planned."""

import pytest

from kangfu.core.tests.demo_world import TODAY, load_demo
from kangfu.rehab import demo
from kangfu.rehab.models import GroupMeeting, MeetingState, Profession, RecurringGroup

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_weekly_peer_group_with_meetings_held_and_planned(monkeypatch):
    load_demo(monkeypatch, demo)
    group = RecurringGroup.objects.select_related("leader").get(title="北辰同伴支持小组")
    assert group.leader.profession == Profession.PEER
    held = GroupMeeting.objects.filter(group=group, state=MeetingState.HELD)
    assert held.count() >= 4 and all(m.activity.patients > 0 for m in held)
    assert GroupMeeting.objects.filter(group=group, state=MeetingState.PLANNED, meets_on__gt=TODAY).exists()
    assert group.members.count() == 10
