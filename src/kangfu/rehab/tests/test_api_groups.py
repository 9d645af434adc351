"""Recurring groups and survey links through the API: the pages' services and rules (scope, one
attendance per meeting, the token shown once), answered in Chinese."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from kangfu.rehab.models import Activity, GroupMeeting, MeetingState, SurveyLink
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)  # a Monday, 10:00 in Tianjin
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def zhang(admin, rehab_worker, institution):
    return f.enrolled_case(
        admin=admin,
        rehab_worker=rehab_worker,
        institution_org=institution,
        person=f.patient(name="张伟"),
        on=dt.date(2026, 10, 12),
    )


def weekly(api, worker, members, **overrides):
    body = {
        "title": "周一同伴支持小组",
        "form": "group",
        "service_type": "peer",
        "weekdays": [0],
        "starts_at": "14:30",
        "start_on": TODAY.isoformat(),
        "members": members,
        **overrides,
    }
    return api(worker)("post", "/groups", body)


def test_an_institution_creates_a_group_takes_a_meeting_and_reads_it_back(api, rehab_worker, zhang):
    created = weekly(api, rehab_worker, [zhang.pk])
    assert created.status_code == 201, created.content
    group = created.json()
    meetings = api(rehab_worker)("get", f"/groups/{group['id']}/meetings").json()
    # Four weeks of Mondays from today, planned.
    assert [m["meets_on"] for m in meetings] == ["2026-11-23", "2026-11-30", "2026-12-07", "2026-12-14"]
    assert {m["state"] for m in meetings} == {MeetingState.PLANNED}
    first = meetings[0]["id"]
    held = api(rehab_worker)(
        "post", f"/group-meetings/{first}/hold", {"mode": "site", "patients": [zhang.pk]}
    )
    assert held.status_code == 200 and held.json()["state"] == MeetingState.HELD
    activity = Activity.objects.get(pk=held.json()["activity_id"])
    assert activity.patients == 1
    # Taken twice (a retry): refused, the attendance counted once.
    again = api(rehab_worker)(
        "post", f"/group-meetings/{first}/hold", {"mode": "site", "patients": [zhang.pk]}
    )
    assert again.status_code == 409
    assert Activity.objects.count() == 1
    listed = api(rehab_worker)("get", "/groups").json()
    assert [(g["id"], g["members"], g["meetings_held"]) for g in listed] == [(group["id"], 1, 1)]
    assert "张伟" not in json.dumps(listed, ensure_ascii=False)


def test_a_member_not_served_here_is_refused_in_chinese_and_nothing_is_made(
    api, rehab_worker, other_worker, other_institution
):
    theirs = f.enrolled_case(
        admin=f.district_admin("beichen.admin", f.BEICHEN),
        rehab_worker=other_worker,
        institution_org=other_institution,
        person=f.patient(name="王芳", community_code="120113001003", county="120113"),
        on=dt.date(2026, 10, 12),
    )
    refused = weekly(api, rehab_worker, [theirs.pk])
    assert refused.status_code == 400
    assert "未在本机构接受服务" in json.dumps(refused.json(), ensure_ascii=False)
    assert "王芳" not in json.dumps(refused.json(), ensure_ascii=False)
    assert not GroupMeeting.objects.exists()


def test_another_institution_can_neither_see_nor_take_our_meetings(api, rehab_worker, other_worker, zhang):
    group = weekly(api, rehab_worker, [zhang.pk]).json()
    assert api(other_worker)("get", f"/groups/{group['id']}/meetings").status_code == 404
    meeting = GroupMeeting.objects.filter(group_id=group["id"]).order_by("meets_on").first()
    forged = api(other_worker)("post", f"/group-meetings/{meeting.pk}/hold", {"mode": "site", "patients": []})
    assert forged.status_code == 404
    cancel = api(other_worker)("post", f"/group-meetings/{meeting.pk}/cancel", {"reason": "下雨"})
    assert cancel.status_code == 404
    meeting.refresh_from_db()
    assert meeting.state == MeetingState.PLANNED
    assert api(other_worker)("get", "/groups").json() == []


def test_a_meeting_is_cancelled_with_its_reason(api, rehab_worker, zhang):
    group = weekly(api, rehab_worker, [zhang.pk]).json()
    meeting = GroupMeeting.objects.filter(group_id=group["id"]).order_by("meets_on").last()
    response = api(rehab_worker)("post", f"/group-meetings/{meeting.pk}/cancel", {"reason": "场地检修"})
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["cancel_reason"]) == (
        MeetingState.CANCELLED,
        "场地检修",
    )


def test_a_survey_link_is_given_once_and_kept_only_as_a_hash(api, rehab_worker, other_worker, zhang):
    made = api(rehab_worker)("post", f"/cases/{zhang.pk}/survey-links", {"respondent": "family"})
    assert made.status_code == 201, made.content
    url = made.json()["url"]
    token = url.rstrip("/").rsplit("/", 1)[-1]
    link = SurveyLink.objects.get()
    assert token not in link.token_hash and link.respondent == "family"
    listed = api(rehab_worker)("get", f"/cases/{zhang.pk}/survey-links").json()
    assert [(row["id"], row["used_at"]) for row in listed] == [(link.pk, None)]
    assert token not in json.dumps(listed)
    # Another institution's worker is not told the case exists.
    assert (
        api(other_worker)("post", f"/cases/{zhang.pk}/survey-links", {"respondent": "user"}).status_code
        == 404
    )
    assert SurveyLink.objects.count() == 1


def test_an_unknown_respondent_is_refused(api, rehab_worker, zhang):
    response = api(rehab_worker)("post", f"/cases/{zhang.pk}/survey-links", {"respondent": "neighbour"})
    assert response.status_code == 400
    assert "请选择填写人" in json.dumps(response.json(), ensure_ascii=False)
    assert not SurveyLink.objects.exists()
