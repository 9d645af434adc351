"""满意度 on a phone: a worker makes a one-use link for a case's user or family; the public page shows
the questions and the institution's name, never the person; the answer is a 满意度 form like a
paper one (one per case, respondent and year, counted per institution), marked 手机填写; a wrong,
used or expired link says so in Chinese; the token is stored only as a hash."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from kangfu.core.models import AuditAction, AuditEntry, PublicAttempt
from kangfu.core.transitions import Conflict
from kangfu.rehab import selectors_delivery
from kangfu.rehab.models import SCORED_FIELDS, SatisfactionSurvey, SurveyChannel, SurveyLink
from kangfu.rehab.services import satisfaction
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)
ANSWERS = {name: "4" for name in SCORED_FIELDS} | {"overall": "5", "comment": "活动很好"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def served(admin, rehab_worker, institution):
    return f.enrolled_case(
        admin=admin,
        rehab_worker=rehab_worker,
        institution_org=institution,
        person=f.patient(name="张伟"),
        on=dt.date(2026, 3, 2),
    )


def make_link(worker, case, respondent="user") -> str:
    return satisfaction.survey_link_create(actor=worker, case=case, respondent=respondent)[1]


def answer(token: str, overall: int = 5):
    scores = {name: 4 for name in SCORED_FIELDS} | {"overall": overall}
    return satisfaction.survey_record_by_link(token=token, scores=scores)


class TestLinks:
    def test_the_token_is_long_random_and_kept_only_as_its_hash(self, served, rehab_worker):
        link, token = satisfaction.survey_link_create(actor=rehab_worker, case=served, respondent="family")
        assert len(token) >= 43  # 32 random bytes in URL-safe base64
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert not SurveyLink.objects.filter(token_hash=token).exists()
        assert link.expires_at == NOW + dt.timedelta(days=14)

    def test_an_answer_by_link_is_a_phone_form_counted_like_a_paper_one(
        self, served, rehab_worker, institution
    ):
        satisfaction.survey_record(
            actor=rehab_worker,
            case=served,
            data=satisfaction.SurveyData(
                filled_on=TODAY, respondent="family", scores={n: 4 for n in SCORED_FIELDS} | {"overall": 4}
            ),
        )
        survey = answer(make_link(rehab_worker, served), overall=5)
        assert (survey.channel, survey.respondent, survey.year, survey.filled_on, survey.by) == (
            SurveyChannel.PHONE,
            "user",
            2026,
            TODAY,
            None,
        )
        assert selectors_delivery.satisfaction_by_institution(
            institution_ids=[institution.pk], year=2026
        ) == {institution.pk: (2, Decimal("4.50"))}
        assert SurveyLink.objects.get().survey == survey

    def test_a_link_answers_once(self, served, rehab_worker):
        token = make_link(rehab_worker, served)
        answer(token)
        with pytest.raises(satisfaction.LinkRefused) as exc:
            answer(token, overall=1)
        assert exc.value.messages == [satisfaction.LINK_USED]
        assert list(SatisfactionSurvey.objects.values_list("overall", flat=True)) == [5]

    def test_an_expired_link_says_when_it_expired(self, served, rehab_worker, frozen):
        token = make_link(rehab_worker, served)
        frozen.shift(dt.timedelta(days=15))
        with pytest.raises(satisfaction.LinkRefused) as exc:
            answer(token)
        assert exc.value.messages == [satisfaction.LINK_EXPIRED.format(day=dt.date(2026, 12, 7))]
        assert not SatisfactionSurvey.objects.exists()

    def test_a_second_answer_of_the_year_is_refused_and_the_link_stays_unused(self, served, rehab_worker):
        first, second = make_link(rehab_worker, served), make_link(rehab_worker, served)
        answer(first)
        with pytest.raises(Conflict) as exc:
            answer(second)
        assert exc.value.messages == [satisfaction.ALREADY.format(year=2026, respondent="服务对象本人")]
        assert SatisfactionSurvey.objects.count() == 1
        assert SurveyLink.objects.filter(used_at__isnull=True).count() == 1

    def test_no_link_is_made_for_a_form_already_in_for_the_year(self, served, rehab_worker):
        answer(make_link(rehab_worker, served))
        with pytest.raises(Conflict):
            make_link(rehab_worker, served)
        assert SurveyLink.objects.count() == 1

    def test_another_institution_cannot_make_a_link(self, served, other_worker):
        with pytest.raises(PermissionDenied):
            make_link(other_worker, served)
        assert not SurveyLink.objects.exists()


class TestPublicPage:
    def test_the_page_shows_the_institution_but_nothing_of_the_person(
        self, served, rehab_worker, institution
    ):
        token = make_link(rehab_worker, served)
        response = Client().get(reverse("public:rehab_survey", args=[token]))
        page = response.content.decode()
        assert response.status_code == 200 and institution.name in page
        assert served.person.name not in page and served.person.id_number not in page
        assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
        opened = AuditEntry.objects.get(action=AuditAction.VIEW, summary__startswith="打开满意度问卷")
        assert (opened.person_id, opened.actor_id) == (served.person_id, None)

    def test_a_person_answers_on_the_phone_and_the_link_is_then_closed(self, served, rehab_worker):
        token = make_link(rehab_worker, served)
        browser = Client(enforce_csrf_checks=True)
        url = reverse("public:rehab_survey", args=[token])
        page = browser.get(url)
        csrf = page.cookies["csrftoken"].value
        response = browser.post(url, ANSWERS | {"csrfmiddlewaretoken": csrf})
        assert response.status_code == 302 and response.url == reverse("public:rehab_survey_done")
        survey = SatisfactionSurvey.objects.get()
        assert (survey.overall, survey.comment, survey.channel) == (5, "活动很好", SurveyChannel.PHONE)
        assert AuditEntry.objects.filter(
            action=AuditAction.CREATE, summary__startswith="手机填写满意度问卷", person_id=served.person_id
        ).exists()
        again = browser.get(url)
        assert again.status_code == 410 and satisfaction.LINK_USED in again.content.decode()
        assert PublicAttempt.objects.exists()  # the post went through the public forms' limits

    def test_a_post_without_the_csrf_token_is_refused(self, served, rehab_worker):
        token = make_link(rehab_worker, served)
        response = Client(enforce_csrf_checks=True).post(
            reverse("public:rehab_survey", args=[token]), ANSWERS
        )
        assert response.status_code == 403
        assert not SatisfactionSurvey.objects.exists()

    def test_a_wrong_token_is_answered_404_in_chinese(self, db):
        response = Client().get(reverse("public:rehab_survey", args=["x" * 43]))
        assert response.status_code == 404 and satisfaction.LINK_UNKNOWN in response.content.decode()

    def test_a_missing_score_is_asked_for_and_nothing_is_saved(self, served, rehab_worker):
        token = make_link(rehab_worker, served)
        response = Client().post(reverse("public:rehab_survey", args=[token]), {"overall": "5"})
        assert response.status_code == 400 and satisfaction.SCORE in response.content.decode()
        assert not SatisfactionSurvey.objects.exists()
        assert SurveyLink.objects.get().used_at is None


class TestWorkerPage:
    def test_the_worker_gets_the_link_once_as_text_and_qr_code(self, client, served, rehab_worker):
        client.force_login(rehab_worker)
        url = reverse("rehab:case_survey_link", args=[served.pk])
        response = client.post(url, {"respondent": "family"})
        page = response.content.decode()
        assert response.status_code == 200 and "<svg" in page
        link_url = response.context["created"]["url"]
        assert "/public/rehab/survey/" in link_url and link_url in page
        listed = client.get(url).content.decode()
        assert link_url not in listed and "待填写" in listed

    def test_another_institution_gets_404(self, client, served, other_worker):
        client.force_login(other_worker)
        assert (
            client.post(
                reverse("rehab:case_survey_link", args=[served.pk]), {"respondent": "user"}
            ).status_code
            == 404
        )
        assert not SurveyLink.objects.exists()
