"""A counter application filed by a community worker goes on: the filer is shown who must act, and a
colleague of the same community accepts it."""

import datetime as dt

import pytest
import time_machine

from kangfu.core.demo import JIUJIANGLU, demo_accounts
from kangfu.core.models import Role
from kangfu.core.tests.factories import UserFactory
from kangfu.subsidies.models import ApplicationStatus
from kangfu.subsidies.services import applications
from kangfu.subsidies.tests.factories import submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def filed(standards, applicant, shequ):
    return submit(applicant, actor=shequ)


def _decision_form(response) -> bool:
    return 'name="decision"' in response.content.decode()


def test_the_filer_is_not_offered_the_decision_and_is_told_who_must_act(client, login, filed, shequ):
    login(shequ)
    response = client.get(f"/subsidies/applications/{filed.pk}/")
    assert response.status_code == 200
    assert not _decision_form(response)
    assert applications.ANOTHER_COLLEAGUE in response.content.decode()


def test_a_colleague_of_the_same_community_is_offered_the_decision_and_accepts(client, login, filed):
    colleague = UserFactory(username="shequ2", role=Role.COMMUNITY_WORKER, jurisdiction_id=filed.community_id)
    login(colleague)
    url = f"/subsidies/applications/{filed.pk}/"
    assert _decision_form(client.get(url))
    response = client.post(url, {"decision": "pass", "opinion": "材料齐全", "version": filed.version})
    assert response.status_code == 302
    filed.refresh_from_db()
    assert filed.status == ApplicationStatus.COMMUNITY_ACCEPTED


def test_the_demo_has_a_second_worker_in_the_community_of_shequ():
    accounts = {a.username: a for a in demo_accounts(JIUJIANGLU)}
    second = [
        a
        for a in accounts.values()
        if a.role == Role.COMMUNITY_WORKER and a.jurisdiction == accounts["shequ"].jurisdiction
    ]
    assert len(second) >= 2
