"""The 两项补贴 tab of a person's record shows their grants and applications, scoped and masked."""

import datetime as dt

import pytest
import time_machine

from kangfu.core.models import Role
from kangfu.core.tests.factories import UserFactory
from kangfu.subsidies.tests.factories import BANK_ACCOUNT, approve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def recipient(standards, applicant, shequ, jiedao, quju):
    return approve(applicant, shequ, jiedao, quju)


def test_the_tab_shows_both_active_grants_and_the_application_with_the_account_masked(
    client, login, recipient, jiedao
):
    login(jiedao)
    response = client.get(f"/people/{recipient.person_id}/?tab=subsidies")
    text = response.content.decode()
    assert response.status_code == 200
    assert "尚未开通" not in text
    assert "困难残疾人生活补贴" in text and "重度残疾人护理补贴" in text
    assert recipient.number in text
    assert BANK_ACCOUNT[-4:] in text and BANK_ACCOUNT not in text


def test_a_role_that_does_not_read_subsidies_sees_none_of_them(client, login, recipient):
    worker = UserFactory(username="fuju", role=Role.DEVICE_CLERK, jurisdiction_id="120103000000")
    login(worker)
    response = client.get(f"/people/{recipient.person_id}/?tab=subsidies")
    assert response.status_code == 200
    assert recipient.number not in response.content.decode()
    assert "仅民政和残联的补贴经办人员可见" in response.content.decode()
