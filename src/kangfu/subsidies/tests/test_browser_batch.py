"""Batches in the browser: the worklist passes the ticked applications after a confirmation, and the
review page sends a community worker to the ticked people (checkboxes outside the form they belong to)."""

import datetime as dt

import pytest

from kangfu.conftest import load_regions
from kangfu.core.models import Role
from kangfu.core.tests.factories import UserFactory
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.models import Application, ApplicationStatus, ReviewTask
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import reviews
from kangfu.subsidies.tests.factories import approve, submit
from kangfu.subsidies.tests.test_browser_payroll import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
JIUJIANGLU = "120103001001"


def _world():
    load_regions()
    seed_tianjin()
    users = {
        name: UserFactory(username=name, role=role, jurisdiction_id=region)
        for name, role, region in [
            ("sq", Role.COMMUNITY_WORKER, JIUJIANGLU),
            ("jd", Role.STREET_OFFICER, "120103001000"),
            ("qj", Role.DISTRICT_ADMIN, "120103000000"),
        ]
    }
    people = []
    for name in ("甲一", "乙二"):
        person = PersonFactory(name=name, community_code=JIUJIANGLU, born=dt.date(1966, 4, 4))
        CertificateFactory(
            person=person, digits="41", issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2035, 1, 1)
        )
        IncomePeriodFactory(person=person, start_date=dt.date(2019, 1, 1))
        people.append(person)
    return users, people


def test_the_worklist_passes_the_ticked_applications(page, live_server):
    _users, people = _world()
    apps = [submit(p) for p in people]
    base = live_server.url
    log_in(page, base, "sq")
    page.goto(f"{base}/subsidies/")
    for app in apps:
        page.check(f"input[name=pick][value^='{app.pk}:']")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('通过勾选的申请')")
    page.wait_for_selector("text=已办理 2 件")
    assert set(Application.objects.values_list("status", flat=True)) == {ApplicationStatus.COMMUNITY_ACCEPTED}
    assert page.errors == []


def test_the_review_page_sends_a_worker_to_the_ticked_people(page, live_server):
    users, people = _world()
    for person in people:
        approve(person, users["sq"], users["jd"], users["qj"])
    reviews.review_campaign_start(
        actor=users["qj"], district=people[0].district, year=2026, due_date=dt.date(2026, 12, 31)
    )
    base = live_server.url
    log_in(page, base, "jd")
    page.goto(f"{base}/subsidies/reviews/")
    page.check(f"input[name=pick][value='{ReviewTask.objects.get(person=people[0]).pk}']")
    page.select_option("#id_visitor", str(users["sq"].pk))
    page.click("button:has-text('派发勾选的任务')")
    page.wait_for_selector("text=已派")
    assert dict(ReviewTask.objects.values_list("person__name", "assigned_to__username")) == {
        "甲一": "sq",
        "乙二": None,
    }
    assert page.errors == []
