"""Worklists act on a batch: every ticked row or none, one audit row per record, and a message that
names what could not be done."""

import datetime as dt

import pytest
import time_machine

from kangfu.core.models import AuditAction, AuditEntry, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.models import Application, ApplicationStatus
from kangfu.subsidies.services import applications
from kangfu.subsidies.tests.conftest import JIUJIANGLU
from kangfu.subsidies.tests.factories import submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


def resident(name):
    person = PersonFactory(name=name, community_code=JIUJIANGLU, born=dt.date(1968, 6, 6))
    CertificateFactory(
        person=person, digits="42", issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2030, 1, 1)
    )
    IncomePeriodFactory(person=person, start_date=dt.date(2019, 1, 1))
    return person


@pytest.fixture
def three(standards):
    return [submit(resident(name)) for name in ("赵一", "钱二", "孙三")]


def statuses():
    return sorted(Application.objects.values_list("status", flat=True))


def updates():
    return AuditEntry.objects.filter(action=AuditAction.UPDATE, object_type="subsidies.application").count()


class TestService:
    def test_a_batch_passes_each_with_its_own_audit_row(self, three, shequ):
        passed = applications.application_pass_many(
            actor=shequ, applications=[(a, a.version) for a in three], opinion="材料齐全"
        )
        assert [a.status for a in passed] == [ApplicationStatus.COMMUNITY_ACCEPTED] * 3
        assert updates() == 3

    def test_one_refusal_changes_none_and_names_it(self, three, shequ):
        mine = submit(resident("李自己"), actor=shequ)
        batch = [(a, a.version) for a in [*three, mine]]
        with pytest.raises(applications.BatchRefused) as caught:
            applications.application_pass_many(actor=shequ, applications=batch)
        assert [a.pk for a, _reason in caught.value.refused] == [mine.pk]
        assert mine.number in caught.value.messages[0] and "李自己" in caught.value.messages[0]
        assert statuses() == [ApplicationStatus.SUBMITTED] * 4
        assert updates() == 0

    def test_a_row_someone_passed_first_is_a_conflict_and_nothing_changes(self, three, shequ):
        seen = [(a, a.version) for a in three]
        colleague = UserFactory(username="shequ2", role=Role.COMMUNITY_WORKER, jurisdiction_id=JIUJIANGLU)
        applications.application_decide(actor=colleague, application=three[1], decision="pass")
        fresh = [(Application.objects.get(pk=a.pk), v) for a, v in seen]
        with pytest.raises(applications.BatchRefused) as caught:
            applications.application_pass_many(actor=shequ, applications=fresh)
        assert [a.pk for a, _r in caught.value.refused] == [three[1].pk]
        assert applications.TAKEN in caught.value.messages[0]
        assert statuses().count(ApplicationStatus.SUBMITTED) == 2

    def test_an_empty_batch_is_refused(self, shequ):
        with pytest.raises(applications.ValidationError) as caught:
            applications.application_pass_many(actor=shequ, applications=[])
        assert caught.value.messages == [applications.NOTHING_CHOSEN]


class TestPage:
    def test_the_worklist_passes_the_ticked_applications(self, client, login, three, shequ):
        login(shequ)
        assert 'name="pick"' in client.get("/subsidies/").content.decode()
        response = client.post(
            "/subsidies/applications/batch/",
            {"pick": [f"{a.pk}:{a.version}" for a in three[:2]], "opinion": "同意"},
            follow=True,
        )
        assert "已办理 2 件" in response.content.decode()
        assert statuses() == sorted(
            [ApplicationStatus.COMMUNITY_ACCEPTED] * 2 + [ApplicationStatus.SUBMITTED]
        )

    def test_a_refused_batch_says_which_and_changes_nothing(self, client, login, three, shequ):
        mine = submit(resident("李自己"), actor=shequ)
        login(shequ)
        response = client.post(
            "/subsidies/applications/batch/",
            {"pick": [f"{a.pk}:{a.version}" for a in [*three, mine]]},
            follow=True,
        )
        text = response.content.decode()
        assert "本次勾选的申请均未办理" in text and mine.number in text
        assert statuses() == [ApplicationStatus.SUBMITTED] * 4

    @pytest.mark.parametrize(
        "pick",
        [["x:1"], ["999999:1"], [], [f"{n}:1" for n in range(1, 300)], ["9" * 30 + ":1"], ["1:" + "9" * 12]],
    )
    def test_bad_or_foreign_picks_change_nothing_and_say_so(self, client, login, three, shequ, pick):
        login(shequ)
        response = client.post("/subsidies/applications/batch/", {"pick": pick}, follow=True)
        assert response.status_code == 200
        assert 'class="msg error"' in response.content.decode()
        assert statuses() == [ApplicationStatus.SUBMITTED] * 3

    def test_another_communitys_application_cannot_be_slipped_in(self, client, login, three, shequ):
        elsewhere = submit(resident("周外区"), hukou="120103002001")
        login(shequ)
        client.post(
            "/subsidies/applications/batch/",
            {"pick": [f"{three[0].pk}:{three[0].version}", f"{elsewhere.pk}:0"]},
        )
        assert statuses() == [ApplicationStatus.SUBMITTED] * 4
