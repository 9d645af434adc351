"""Forms the file keeps on paper: the 申请审批表 of an application and the 年度复核 record, printed from
their pages, with IDs masked and each print an audited read."""

import datetime as dt

import pytest
import time_machine

from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction, AuditEntry
from kangfu.subsidies.models import ReviewTask
from kangfu.subsidies.services import reviews
from kangfu.subsidies.tests.factories import approve, submit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


def prints(obj) -> int:
    return AuditEntry.objects.filter(
        action=AuditAction.VIEW, object_id=str(obj.pk), summary__startswith="打印"
    ).count()


class TestApplicationSheet:
    def test_each_step_has_its_opinion_decider_date_and_a_signature_line(
        self, client, login, standards, applicant, shequ, jiedao, quju
    ):
        app = approve(applicant, shequ, jiedao, quju)
        login(jiedao)
        detail = client.get(f"/subsidies/applications/{app.pk}/").content.decode()
        assert f"/subsidies/applications/{app.pk}/print/" in detail
        text = client.get(f"/subsidies/applications/{app.pk}/print/").content.decode()
        steps = text.split('id="sheet-steps"')[1].split("</table>")[0]
        for label, who in (("社区受理", shequ), ("街道审核", jiedao), ("区民政局审批", quju)):
            assert label in steps and str(who) in steps
        assert steps.count("（盖章）") == 3
        assert mask_id_number(applicant.id_number) in text and applicant.id_number not in text
        assert "<nav" not in text  # the sheet alone, without the site's menu

    def test_steps_not_yet_taken_are_left_blank_for_the_hand(
        self, client, login, standards, applicant, shequ
    ):
        app = submit(applicant)
        login(shequ)
        steps = client.get(f"/subsidies/applications/{app.pk}/print/").content.decode()
        steps = steps.split('id="sheet-steps"')[1].split("</table>")[0]
        assert steps.count("（盖章）") == 3 and str(shequ) not in steps

    def test_printing_is_an_audited_read_and_outside_the_scope_a_404(
        self, client, login, standards, applicant, shequ, outsider
    ):
        app = submit(applicant)
        login(shequ)
        client.get(f"/subsidies/applications/{app.pk}/print/")
        assert prints(app) == 1
        login(outsider)
        assert client.get(f"/subsidies/applications/{app.pk}/print/").status_code == 404
        assert prints(app) == 1


class TestReviewRecord:
    @pytest.fixture
    def task(self, standards, hexi, applicant, shequ, jiedao, quju):
        approve(applicant, shequ, jiedao, quju)
        reviews.review_campaign_start(actor=quju, district=hexi, year=2026, due_date=dt.date(2026, 12, 31))
        reviews.visit_record(
            actor=jiedao, person=applicant, visited_on=dt.date(2026, 11, 2), mode="home", findings="本人健在"
        )
        return ReviewTask.objects.get()

    def test_the_record_shows_the_person_grants_visits_result_and_signatures(
        self, client, login, task, applicant, jiedao
    ):
        reviews.review_task_decide(actor=jiedao, task=task, outcome="passed", method="入户走访")
        login(jiedao)
        text = client.get(f"/subsidies/reviews/{task.pk}/print/").content.decode()
        assert "2026 年度复核记录" in text and applicant.name in text
        assert mask_id_number(applicant.id_number) in text and applicant.id_number not in text
        assert "困难残疾人生活补贴" in text and "重度残疾人护理补贴" in text
        assert "本人健在" in text and "复核通过" in text and "入户走访" in text
        assert text.count("（签字）") == 3
        assert prints(task) == 1

    def test_it_is_linked_from_the_review_page_and_the_persons_record(
        self, client, login, task, applicant, jiedao
    ):
        login(jiedao)
        url = f"/subsidies/reviews/{task.pk}/print/"
        assert url in client.get("/subsidies/reviews/").content.decode()
        assert url in client.get(f"/people/{applicant.pk}/?tab=subsidies").content.decode()

    def test_outside_the_scope_it_is_a_404(self, client, login, task, outsider):
        login(outsider)
        assert client.get(f"/subsidies/reviews/{task.pk}/print/").status_code == 404
        assert prints(task) == 0
