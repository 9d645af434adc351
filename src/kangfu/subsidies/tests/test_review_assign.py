"""The street sends community workers to see the people of the annual review, a batch at a time:
every ticked task or none, one audit row each, and a message naming what could not be sent."""

import datetime as dt

import pytest
import time_machine

from kangfu.core.models import AuditAction, AuditEntry, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.models import ReviewTask
from kangfu.subsidies.services import reviews
from kangfu.subsidies.tests.conftest import JIUJIANGLU
from kangfu.subsidies.tests.factories import approve

pytestmark = pytest.mark.django_db
OTHER_COMMUNITY = "120103001004"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


def recipient(name, community=JIUJIANGLU):
    person = PersonFactory(name=name, community_code=community, born=dt.date(1968, 6, 6))
    CertificateFactory(
        person=person, digits="42", issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2030, 1, 1)
    )
    IncomePeriodFactory(person=person, start_date=dt.date(2019, 1, 1))
    return person


@pytest.fixture
def tasks(standards, hexi, shequ, jiedao, quju):
    other = UserFactory(username="ronghua", role=Role.COMMUNITY_WORKER, jurisdiction_id=OTHER_COMMUNITY)
    for name, community, worker in (
        ("赵一", JIUJIANGLU, shequ),
        ("钱二", JIUJIANGLU, shequ),
        ("孙外社", OTHER_COMMUNITY, other),
    ):
        approve(recipient(name, community), worker, jiedao, quju)
    reviews.review_campaign_start(actor=quju, district=hexi, year=2026, due_date=dt.date(2026, 12, 31))
    return {t.person.name: t for t in ReviewTask.objects.select_related("person", "campaign")}


def assigned():
    return dict(ReviewTask.objects.values_list("person__name", "assigned_to__username"))


def assignments():
    return AuditEntry.objects.filter(action=AuditAction.UPDATE, summary__contains="入户走访").count()


def test_a_batch_is_assigned_with_one_audit_row_each(tasks, jiedao, shequ):
    reviews.review_tasks_assign(actor=jiedao, tasks=[tasks["赵一"], tasks["钱二"]], assignee=shequ)
    assert assigned() == {"赵一": "shequ", "钱二": "shequ", "孙外社": None}
    assert assignments() == 2


def test_a_person_outside_the_visitors_community_refuses_the_whole_batch(tasks, jiedao, shequ):
    with pytest.raises(reviews.AssignRefused) as caught:
        reviews.review_tasks_assign(actor=jiedao, tasks=list(tasks.values()), assignee=shequ)
    assert [t.person.name for t, _r in caught.value.refused] == ["孙外社"]
    assert reviews.NOT_A_VISITOR in caught.value.messages[0]
    assert set(assigned().values()) == {None}
    assert assignments() == 0


def test_a_task_decided_meanwhile_is_a_conflict_and_nothing_is_assigned(tasks, jiedao, shequ):
    seen = [tasks["赵一"], tasks["钱二"]]
    reviews.review_task_decide(actor=jiedao, task=tasks["钱二"], outcome="passed")
    with pytest.raises(reviews.AssignRefused) as caught:
        reviews.review_tasks_assign(actor=jiedao, tasks=seen, assignee=shequ)
    assert reviews.TASK_DONE in caught.value.messages[0]
    assert set(assigned().values()) == {None}


def test_the_page_assigns_the_ticked_tasks(client, login, tasks, jiedao, shequ):
    login(jiedao)
    page = client.get("/subsidies/reviews/").content.decode()
    assert 'name="pick"' in page and f'value="{shequ.pk}"' in page
    response = client.post(
        "/subsidies/reviews/",
        {"action": "assign", "visitor": shequ.pk, "pick": [tasks["赵一"].pk, tasks["钱二"].pk]},
        follow=True,
    )
    assert "已派" in response.content.decode()
    assert assigned()["赵一"] == "shequ"


@pytest.mark.parametrize("visitor", ["", "x", "999999", "9" * 30])
def test_a_bad_visitor_changes_nothing_and_says_so(client, login, tasks, jiedao, visitor):
    login(jiedao)
    response = client.post(
        "/subsidies/reviews/",
        {"action": "assign", "visitor": visitor, "pick": [tasks["赵一"].pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert 'class="msg error"' in response.content.decode()
    assert set(assigned().values()) == {None}


def test_a_community_worker_cannot_assign(client, login, tasks, shequ):
    other = UserFactory(username="shequ2", role=Role.COMMUNITY_WORKER, jurisdiction_id=JIUJIANGLU)
    login(shequ)
    client.post("/subsidies/reviews/", {"action": "assign", "visitor": other.pk, "pick": [tasks["赵一"].pk]})
    assert set(assigned().values()) == {None}


@pytest.mark.parametrize("task", ["", "abc", "9" * 30])
def test_a_result_for_an_unreadable_task_is_refused_with_a_message(client, login, tasks, jiedao, task):
    login(jiedao)
    response = client.post(
        "/subsidies/reviews/", {"action": "decide", "task": task, "outcome": "passed"}, follow=True
    )
    assert response.status_code == 200
    assert 'class="msg error"' in response.content.decode()


@pytest.mark.parametrize("person", ["", "abc", "9" * 30])
def test_a_visit_for_an_unreadable_person_is_a_404_not_an_error(client, login, tasks, jiedao, person):
    login(jiedao)
    data = {"person": person, "visited_on": "2026-11-02", "mode": "home", "findings": "本人健在"}
    assert client.post("/subsidies/visits/", data).status_code == 404
