"""Recurring groups: a weekly group plans its meetings four weeks ahead, once; a meeting taken is an
activity like any other (attendance, counters); a cancelled one counts nowhere; each member's
attendance rate counts the meetings held while they were a member. Workers of the institution
manage their groups, civil affairs reads them without names, other institutions see nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from kangfu.core.registry import periodic_jobs
from kangfu.core.transitions import Conflict
from kangfu.rehab import selectors_groups
from kangfu.rehab.models import Activity, Attendance, GroupMeeting, MeetingState, MonthlyCount, StaffMember
from kangfu.rehab.services import groups
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)  # 10:00 in Tianjin
TODAY = dt.date(2026, 11, 23)  # a Monday
ENROLLED = dt.date(2026, 10, 12)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def zhang(admin, rehab_worker, institution):
    return f.enrolled_case(
        admin=admin,
        rehab_worker=rehab_worker,
        institution_org=institution,
        person=f.patient(name="张伟"),
        on=ENROLLED,
    )


@pytest.fixture
def liu(admin, rehab_worker, institution):
    return f.enrolled_case(
        admin=admin,
        rehab_worker=rehab_worker,
        institution_org=institution,
        person=f.patient(name="刘洋"),
        on=ENROLLED,
    )


def weekly(worker, members, *, start_on=TODAY, weekdays=(0,), end_on=None, leader=None):
    return groups.group_create(
        actor=worker,
        data=groups.GroupData(
            title="同伴支持小组",
            form="peer_support",
            service_type="peer",
            weekdays=list(weekdays),
            starts_at=dt.time(14, 30),
            start_on=start_on,
            end_on=end_on,
            place="站点活动室",
            leader=leader,
            members=[c.pk for c in members],
        ),
    )


def days(group) -> list[dt.date]:
    return list(
        GroupMeeting.objects.filter(group=group).order_by("meets_on").values_list("meets_on", flat=True)
    )


def counted(org, measure: str, key: str) -> int:
    row = MonthlyCount.objects.filter(
        institution=org, month=dt.date(2026, 11, 1), measure=measure, key=key
    ).first()
    return row.n if row else 0


class TestPlanning:
    def test_a_new_weekly_group_has_its_next_four_meetings(self, rehab_worker, zhang):
        group = weekly(rehab_worker, [zhang])
        assert days(group) == [TODAY + dt.timedelta(weeks=n) for n in range(4)]

    def test_a_group_started_last_week_has_that_meeting_too_to_record(self, rehab_worker, zhang):
        group = weekly(rehab_worker, [zhang], start_on=TODAY - dt.timedelta(days=7), weekdays=(0, 3))
        assert days(group)[:3] == [dt.date(2026, 11, 16), dt.date(2026, 11, 19), TODAY]

    def test_planning_twice_adds_no_meeting(self, rehab_worker, zhang):
        group = weekly(rehab_worker, [zhang])
        assert groups.meetings_generate() == 0
        assert groups.meetings_generate() == 0
        assert len(days(group)) == 4

    def test_the_database_itself_refuses_a_second_meeting_on_a_day(self, rehab_worker, zhang):
        group = weekly(rehab_worker, [zhang])
        with pytest.raises(IntegrityError), transaction.atomic():
            GroupMeeting.objects.create(group=group, meets_on=TODAY)

    def test_the_workers_timer_moves_the_plan_on_as_the_weeks_pass(self, rehab_worker, zhang, frozen):
        group = weekly(rehab_worker, [zhang])
        frozen.shift(dt.timedelta(days=7))
        (job,) = [j for j in periodic_jobs() if j.key == "rehab.group_meetings"]
        assert job.run() == 1
        assert days(group)[-1] == TODAY + dt.timedelta(weeks=4)

    def test_an_end_date_stops_the_plan_and_ending_early_drops_the_planned_meetings(
        self, rehab_worker, zhang
    ):
        group = weekly(rehab_worker, [zhang], end_on=TODAY + dt.timedelta(days=10))
        assert days(group) == [TODAY, TODAY + dt.timedelta(weeks=1)]
        assert groups.group_end(actor=rehab_worker, group=group, end_on=TODAY) == 1
        assert days(group) == [TODAY]

    def test_bad_input_is_refused_with_its_messages_and_nothing_is_saved(self, rehab_worker, zhang):
        with pytest.raises(ValidationError) as exc:
            weekly(rehab_worker, [zhang], weekdays=(), end_on=TODAY - dt.timedelta(days=1))
        assert exc.value.message_dict == {"weekdays": [groups.NO_WEEKDAYS], "end_on": [groups.ENDS_BEFORE]}
        assert not GroupMeeting.objects.exists()

    def test_a_person_served_elsewhere_is_refused_without_their_name(self, rehab_worker, zhang, other_worker):
        beichen = f.enrolled_case(
            admin=f.district_admin("beichen.admin", f.BEICHEN),
            rehab_worker=other_worker,
            institution_org=other_worker.organisation,
            person=f.patient(name="陈静", community_code="120113001003", county="120113"),
            on=ENROLLED,
        )
        with pytest.raises(ValidationError) as exc:
            weekly(rehab_worker, [zhang, beichen])
        assert exc.value.message_dict == {
            "members": [groups.MEMBERS_NOT_SERVED.format(names=f"档案 {beichen.pk}")]
        }

    def test_another_institution_cannot_change_the_group(self, rehab_worker, other_worker, zhang):
        group = weekly(rehab_worker, [zhang])
        meeting = group.meetings.first()
        with pytest.raises(PermissionDenied):
            groups.meeting_cancel(actor=other_worker, meeting=meeting, reason="下雨")
        with pytest.raises(PermissionDenied):
            groups.group_end(actor=other_worker, group=group, end_on=TODAY)


class TestMeetings:
    def test_a_meeting_taken_is_an_activity_counted_like_any_other(
        self, rehab_worker, zhang, liu, institution
    ):
        group = weekly(rehab_worker, [zhang, liu])
        meeting = group.meetings.get(meets_on=TODAY)
        groups.meeting_hold(
            actor=rehab_worker,
            meeting=meeting,
            data=groups.MeetingData(
                mode="site",
                patients=[zhang.pk],
                family=[{"case": liu.pk, "name": "刘母", "relation": "母亲"}],
            ),
        )
        meeting.refresh_from_db()
        activity = meeting.activity
        assert (meeting.state, activity.title, activity.form, activity.held_on) == (
            MeetingState.HELD,
            "同伴支持小组",
            "peer_support",
            TODAY,
        )
        assert (activity.patients, activity.family) == (1, 1)
        assert counted(institution, "activities", "peer") == 1
        assert counted(institution, "patient_times", "peer") == 1
        assert counted(institution, "family_times", "peer") == 1

    def test_a_meeting_is_taken_once(self, rehab_worker, zhang):
        meeting = weekly(rehab_worker, [zhang]).meetings.get(meets_on=TODAY)
        data = groups.MeetingData(mode="site", patients=[zhang.pk])
        groups.meeting_hold(actor=rehab_worker, meeting=meeting, data=data)
        stale = GroupMeeting.objects.get(pk=meeting.pk)
        stale.state = MeetingState.PLANNED  # as a second worker's page still shows it
        with pytest.raises(Conflict):
            groups.meeting_hold(actor=rehab_worker, meeting=stale, data=data)
        assert Activity.objects.count() == 1 and Attendance.objects.count() == 1

    def test_a_meeting_ahead_cannot_be_taken_yet(self, rehab_worker, zhang):
        meeting = weekly(rehab_worker, [zhang]).meetings.get(meets_on=TODAY + dt.timedelta(weeks=1))
        with pytest.raises(ValidationError) as exc:
            groups.meeting_hold(
                actor=rehab_worker, meeting=meeting, data=groups.MeetingData(mode="site", patients=[zhang.pk])
            )
        assert exc.value.messages == [groups.NOT_YET.format(day=meeting.meets_on)]
        assert not Activity.objects.exists()

    def test_a_cancelled_meeting_keeps_its_reason_and_counts_nowhere(self, rehab_worker, zhang, institution):
        meeting = weekly(rehab_worker, [zhang]).meetings.get(meets_on=TODAY)
        with pytest.raises(ValidationError) as exc:
            groups.meeting_cancel(actor=rehab_worker, meeting=meeting, reason="  ")
        assert exc.value.message_dict == {"reason": [groups.NEEDS_REASON]}
        groups.meeting_cancel(actor=rehab_worker, meeting=meeting, reason="暴雨停课")
        meeting.refresh_from_db()
        assert (meeting.state, meeting.cancel_reason, meeting.activity) == (
            MeetingState.CANCELLED,
            "暴雨停课",
            None,
        )
        assert counted(institution, "activities", "peer") == 0

    def test_members_attendance_rate_counts_the_meetings_held_while_they_were_members(
        self, rehab_worker, zhang, liu, frozen
    ):
        group = weekly(rehab_worker, [zhang], start_on=TODAY - dt.timedelta(weeks=3))
        groups.group_member_add(
            actor=rehab_worker, group=group, case_id=liu.pk, joined_on=TODAY - dt.timedelta(weeks=1)
        )
        first, second, third, fourth = group.meetings.order_by("meets_on")[:4]
        groups.meeting_cancel(actor=rehab_worker, meeting=first, reason="场地维修")
        for meeting, came in ((second, [zhang.pk]), (third, [zhang.pk, liu.pk]), (fourth, [liu.pk])):
            groups.meeting_hold(
                actor=rehab_worker, meeting=meeting, data=groups.MeetingData(mode="site", patients=came)
            )
        rates = {
            r.member.case_id: (r.held, r.attended, r.rate)
            for r in selectors_groups.group_page(group)["rates"]
        }
        assert rates[zhang.pk] == (3, 2, Decimal("66.7"))
        assert rates[liu.pk] == (2, 2, Decimal("100.0"))

    def test_a_member_who_left_is_not_offered_for_later_meetings(self, rehab_worker, zhang, liu):
        group = weekly(rehab_worker, [zhang, liu])
        member = group.members.get(case=liu)
        groups.group_member_leave(actor=rehab_worker, member=member, left_on=TODAY)
        later = TODAY + dt.timedelta(weeks=1)
        assert {m.case_id for m in groups.members_on(group, TODAY)} == {zhang.pk, liu.pk}
        assert [m.case_id for m in groups.members_on(group, later)] == [zhang.pk]
        with pytest.raises(Conflict):
            groups.group_member_leave(actor=rehab_worker, member=member, left_on=TODAY)

    def test_a_meeting_led_by_a_peer_supporter_names_them(self, rehab_worker, zhang, institution):
        peer = StaffMember.objects.create(organisation=institution, name="李平", profession="peer")
        meeting = weekly(rehab_worker, [zhang], leader=peer).meetings.get(meets_on=TODAY)
        assert meeting.leader == peer
        groups.meeting_hold(
            actor=rehab_worker, meeting=meeting, data=groups.MeetingData(mode="site", patients=[zhang.pk])
        )
        meeting.refresh_from_db()
        assert meeting.leader == peer and meeting.activity.leader == rehab_worker


class TestPages:
    def test_a_worker_creates_a_group_and_takes_a_meeting_prefilled_with_its_members(
        self, client, rehab_worker, zhang, liu
    ):
        client.force_login(rehab_worker)
        response = client.post(
            reverse("rehab:group_new"),
            {
                "title": "社交技能小组",
                "form": "group",
                "service_type": "social",
                "weekdays": ["0", "2"],
                "starts_at": "09:30",
                "start_on": "2026-11-23",
                "members": [zhang.pk, liu.pk],
            },
        )
        group = selectors_groups.groups_for(rehab_worker).get()
        assert response.status_code == 302 and response.url == reverse("rehab:group", args=[group.pk])
        meeting = group.meetings.get(meets_on=TODAY)
        page = client.get(reverse("rehab:group_meeting", args=[meeting.pk]))
        assert set(page.context["form"]["patients"].value()) == {zhang.pk, liu.pk}
        response = client.post(
            reverse("rehab:group_meeting", args=[meeting.pk]), {"mode": "site", "patients": [liu.pk]}
        )
        assert response.status_code == 302
        meeting.refresh_from_db()
        assert meeting.state == MeetingState.HELD and meeting.activity.patients == 1

    def test_a_bad_group_is_shown_again_with_400_and_the_message(self, client, rehab_worker, zhang):
        client.force_login(rehab_worker)
        response = client.post(
            reverse("rehab:group_new"),
            {
                "title": "小组",
                "form": "group",
                "service_type": "social",
                "weekdays": ["0"],
                "starts_at": "09:30",
                "start_on": "2026-11-23",
                "end_on": "2026-11-20",
            },
        )
        assert response.status_code == 400
        assert groups.ENDS_BEFORE in response.content.decode()

    def test_civil_affairs_reads_the_group_without_the_members_names(
        self, client, admin, rehab_worker, zhang
    ):
        group = weekly(rehab_worker, [zhang])
        client.force_login(admin)
        page = client.get(reverse("rehab:group", args=[group.pk]))
        assert page.status_code == 200 and "同伴支持小组" in page.content.decode()
        assert "张伟" not in page.content.decode()
        meeting = group.meetings.get(meets_on=TODAY)
        assert (
            client.post(reverse("rehab:group_meeting_cancel", args=[meeting.pk]), {"reason": "x"}).status_code
            == 403
        )

    def test_another_institution_gets_404(self, client, other_worker, rehab_worker, zhang):
        group = weekly(rehab_worker, [zhang])
        client.force_login(other_worker)
        assert client.get(reverse("rehab:group", args=[group.pk])).status_code == 404
        meeting = group.meetings.first()
        assert client.get(reverse("rehab:group_meeting", args=[meeting.pk])).status_code == 404
