"""A weekly group through the real browser: the 西青 worker creates it with two members, opens its next
meeting, finds both ticked, leaves one out and records the attendance."""

import datetime as dt

import pytest
from django.utils import timezone

from kangfu.rehab.models import GroupMeeting, MeetingState
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.test_browser import INSTITUTION, log_in, message, save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_worker_creates_a_weekly_group_and_records_its_meeting(page, live_server):
    institution = f.institution(name=INSTITUTION)
    worker = f.worker(institution, username="xiqing.rehab")
    admin = f.district_admin(username="xiqing.mz")
    today = timezone.localdate()
    for name in ("张伟", "刘洋"):
        f.enrolled_case(
            admin=admin,
            rehab_worker=worker,
            institution_org=institution,
            person=f.patient(name=name),
            on=today - dt.timedelta(days=30),
        )
    base = live_server.url
    log_in(page, base, "xiqing.rehab")
    page.goto(f"{base}/rehab/groups/")
    page.click("main a.button:has-text('新建固定小组')")
    page.fill("#id_title", "同伴支持小组")
    page.select_option("#id_form", "peer_support")
    page.select_option("#id_service_type", "peer")
    # Meeting on today's weekday, so that the next meeting is today and can be recorded at once.
    page.check(f"input[name=weekdays][value='{today.weekday()}']")
    page.fill("#id_starts_at", "14:30")
    page.check("label:has-text('张伟') input")
    page.check("label:has-text('刘洋') input")
    save(page)
    assert "已新建固定小组“同伴支持小组”" in message(page)

    with page.expect_navigation():
        page.click("#next-meeting")
    assert page.is_checked("label:has-text('张伟') input") and page.is_checked("label:has-text('刘洋') input")
    page.uncheck("label:has-text('刘洋') input")
    save(page)
    assert "已登记" in message(page) and page.inner_text("#patients") == "1"
    meeting = GroupMeeting.objects.get(meets_on=today)
    assert meeting.state == MeetingState.HELD and meeting.activity.patients == 1
    assert page.errors == []
