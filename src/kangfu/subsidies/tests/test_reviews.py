import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from kangfu.subsidies.models import Grant, GrantStatus, ReviewTask
from kangfu.subsidies.services import payroll, reviews
from kangfu.subsidies.tests.factories import approve

pytestmark = pytest.mark.django_db
M = dt.date


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def recipient(standards, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju)
    return applicant


def test_a_campaign_gives_each_recipient_one_task_for_their_street(recipient, hexi, quju):
    campaign = reviews.review_campaign_start(actor=quju, district=hexi, year=2026, due_date=M(2026, 12, 31))
    assert list(campaign.tasks.values_list("person_id", "street_id")) == [(recipient.pk, "120103001000")]
    with pytest.raises(ValidationError):
        reviews.review_campaign_start(actor=quju, district=hexi, year=2026, due_date=M(2026, 12, 31))


def test_a_missed_review_stops_payment_from_next_month(recipient, hexi, quju, quju2, jiedao):
    payroll.payroll_lock(
        actor=quju2, payroll=payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    )
    campaign = reviews.review_campaign_start(actor=quju, district=hexi, year=2026, due_date=M(2026, 12, 31))
    reviews.review_task_decide(actor=jiedao, task=campaign.tasks.get(), outcome="absent", note="三次通知未到")
    assert set(Grant.objects.values_list("status", "end_month")) == {(GrantStatus.STOPPED, M(2026, 11, 1))}
    with time_machine.travel(dt.datetime(2026, 12, 5, tzinfo=dt.UTC), tick=False):
        december = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 12, 1))
    assert december.total == Decimal("0.00")


def test_a_task_is_decided_once_and_only_by_its_street(recipient, hexi, quju, jiedao):
    from kangfu.core.models import Role
    from kangfu.core.tests.factories import UserFactory

    task = reviews.review_campaign_start(
        actor=quju, district=hexi, year=2026, due_date=M(2026, 12, 31)
    ).tasks.get()
    other = UserFactory(username="other_street", role=Role.STREET_OFFICER, jurisdiction_id="120103002000")
    with pytest.raises(PermissionDenied):
        reviews.review_task_decide(actor=other, task=task, outcome="passed")
    reviews.review_task_decide(actor=jiedao, task=task, outcome="passed")
    with pytest.raises(ValidationError):
        reviews.review_task_decide(actor=jiedao, task=ReviewTask.objects.get(pk=task.pk), outcome="failed")
    assert Grant.objects.filter(status=GrantStatus.ACTIVE).count() == 2


def test_a_visit_takes_the_person_off_the_worklist_and_an_abnormal_one_can_suspend(recipient, jiedao, login):
    from kangfu.subsidies.selectors import not_yet_seen

    people, _half = not_yet_seen(jiedao)
    assert list(people) == [recipient]
    reviews.visit_record(
        actor=jiedao,
        person=recipient,
        visited_on=M(2026, 11, 18),
        mode="home",
        findings="本人不在家，邻居称已外出务工",
        abnormal=True,
        suspend=True,
    )
    people, _half = not_yet_seen(jiedao)
    assert list(people) == []
    assert set(Grant.objects.values_list("status", flat=True)) == {GrantStatus.SUSPENDED}


def test_the_pages_work_for_the_street(recipient, hexi, quju, jiedao, login):
    reviews.review_campaign_start(actor=quju, district=hexi, year=2026, due_date=M(2026, 12, 31))
    client = login(jiedao)
    assert recipient.name in client.get("/subsidies/reviews/").content.decode()
    response = client.post(
        "/subsidies/visits/",
        {"person": recipient.pk, "visited_on": "2026-11-19", "mode": "video", "findings": "正常"},
    )
    assert response.status_code == 302
    assert client.get("/subsidies/visits/").context["count"] == 0
