"""满意度: the institution enters a user's or a family's paper form once a year each; the page and the
programme count the forms and the mean overall judgement per institution."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kangfu.core.models import AuditAction, AuditEntry
from kangfu.core.transitions import Conflict
from kangfu.rehab import selectors_delivery
from kangfu.rehab.models import SCORED_FIELDS, SatisfactionSurvey
from kangfu.rehab.services import satisfaction
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def served(admin, rehab_worker, institution):
    return f.enrolled_case(
        admin=admin, rehab_worker=rehab_worker, institution_org=institution, on=dt.date(2026, 3, 2)
    )


def enter(worker, case, *, overall=4, respondent="user", filled_on=TODAY, **scores):
    values = {name: 4 for name in SCORED_FIELDS} | scores | {"overall": overall}
    return satisfaction.survey_record(
        actor=worker,
        case=case,
        data=satisfaction.SurveyData(filled_on=filled_on, respondent=respondent, scores=values),
    )


class TestEntering:
    def test_a_form_is_kept_with_its_institution_and_year_and_audited(self, served, rehab_worker):
        survey = enter(rehab_worker, served, overall=5, effect=3)
        assert (survey.institution_id, survey.year, survey.overall, survey.effect) == (
            served.institution_id,
            2026,
            5,
            3,
        )
        entry = AuditEntry.objects.get(action=AuditAction.CREATE, summary__startswith="录入满意度问卷")
        assert entry.person_id == served.person_id

    def test_one_form_per_respondent_a_year_and_a_second_submit_changes_nothing(self, served, rehab_worker):
        enter(rehab_worker, served)
        with pytest.raises(Conflict, match="2026 年已录入服务对象本人的满意度问卷"):
            enter(rehab_worker, served, overall=1)
        enter(rehab_worker, served, respondent="family")
        assert sorted(SatisfactionSurvey.objects.values_list("respondent", "overall")) == [
            ("family", 4),
            ("user", 4),
        ]

    def test_every_score_is_one_to_five(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            enter(rehab_worker, served, overall=6, attitude=0)
        assert exc.value.message_dict == {"attitude": [satisfaction.SCORE], "overall": [satisfaction.SCORE]}
        assert not SatisfactionSurvey.objects.exists()

    def test_a_referred_person_has_no_service_to_judge(self, admin, rehab_worker, institution):
        referred = f.referred_case(admin=admin, institution_org=institution, on=TODAY)
        with pytest.raises(ValidationError, match="尚未接受服务"):
            enter(rehab_worker, referred)
        assert not SatisfactionSurvey.objects.exists()

    def test_another_institution_cannot_enter_a_form(self, served, other_worker):
        with pytest.raises(PermissionDenied):
            enter(other_worker, served)
        assert not SatisfactionSurvey.objects.exists()


class TestCounting:
    def test_the_programme_gets_the_count_and_mean_per_institution_for_the_year(
        self, served, rehab_worker, institution, other_institution
    ):
        enter(rehab_worker, served, overall=5)
        enter(rehab_worker, served, overall=4, respondent="family")
        counts = selectors_delivery.satisfaction_by_institution(
            institution_ids=[institution.pk, other_institution.pk], year=2026
        )
        assert counts == {institution.pk: (2, Decimal("4.50"))}
        assert (
            selectors_delivery.satisfaction_by_institution(institution_ids=[institution.pk], year=2025) == {}
        )


class TestPages:
    def test_the_worker_enters_a_paper_form_and_sees_the_year(self, client, served, rehab_worker):
        client.force_login(rehab_worker)
        url = reverse("rehab:case_satisfaction", args=[served.pk])
        assert client.get(url).status_code == 200
        form = {name: "5" for name in SCORED_FIELDS} | {
            "filled_on": "2026-11-20",
            "respondent": "family",
            "overall": "4",
            "comment": "希望增加周末活动",
        }
        assert client.post(url, form).status_code == 302
        again = client.post(url, form)
        assert again.status_code == 400 and "不能重复录入" in again.content.decode()
        assert SatisfactionSurvey.objects.count() == 1
        page = client.get(reverse("rehab:satisfaction")).content.decode()
        assert 'id="kpi-surveys">1<' in page and 'id="kpi-overall">4.00<' in page
        assert served.person.name in page and "希望增加周末活动" in page

    def test_a_missing_score_is_answered_in_chinese_and_saves_nothing(self, client, served, rehab_worker):
        client.force_login(rehab_worker)
        url = reverse("rehab:case_satisfaction", args=[served.pk])
        response = client.post(url, {"filled_on": "2026-11-20", "respondent": "user", "overall": "9"})
        assert response.status_code == 400
        assert "请选择 1–5 分。" in response.content.decode()
        assert not SatisfactionSurvey.objects.exists()

    def test_another_institution_sees_neither_the_case_nor_its_forms(
        self, client, served, rehab_worker, other_worker
    ):
        enter(rehab_worker, served)
        client.force_login(other_worker)
        assert client.get(reverse("rehab:case_satisfaction", args=[served.pk])).status_code == 404
        page = client.get(reverse("rehab:satisfaction")).content.decode()
        assert 'id="kpi-surveys">0<' in page and served.person.name not in page
