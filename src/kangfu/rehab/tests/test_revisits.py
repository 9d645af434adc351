"""回访 after closure: the 1/3/6-month schedule follows from the discharge, each round is recorded once,
the worklist shows what is due and overdue to the institution that closed the case, and the programme
counts them per institution."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from kangfu.core.models import AuditAction, AuditEntry
from kangfu.core.transitions import Conflict
from kangfu.rehab import selectors_delivery, selectors_revisits
from kangfu.rehab.models import Revisit
from kangfu.rehab.services import cases as case_services
from kangfu.rehab.services import revisits
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)  # 10:00 in Tianjin
TODAY = dt.date(2026, 11, 23)
CLOSED = dt.date(2026, 6, 10)  # rounds due 7-10 (overdue), 9-10 (overdue), 12-10 (ahead)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def closed_case(admin, worker, institution, *, name="张伟", on=CLOSED, reason="recovered"):
    case = f.enrolled_case(
        admin=admin,
        rehab_worker=worker,
        institution_org=institution,
        person=f.patient(name=name),
        on=on - dt.timedelta(days=60),
    )
    return case_services.case_discharge(actor=worker, case=case, on=on, reason=reason)


@pytest.fixture
def closed(admin, rehab_worker, institution):
    return closed_case(admin, rehab_worker, institution)


def record(worker, case, **values):
    values.setdefault("done_on", TODAY)
    values.setdefault("way", "phone")
    values.setdefault("outcome", "stable")
    return revisits.revisit_record(actor=worker, case=case, data=revisits.RevisitData(**values))


class TestRecording:
    def test_a_contact_answers_the_earliest_round_not_yet_made_with_its_due_date(self, closed, rehab_worker):
        first = record(rehab_worker, closed, done_on=dt.date(2026, 7, 12))
        second = record(rehab_worker, closed, relapsed=True, note="停药后复发")
        assert (first.round, first.due_on) == (1, dt.date(2026, 7, 10))
        assert (second.round, second.due_on, second.relapsed) == (3, dt.date(2026, 9, 10), True)
        entry = AuditEntry.objects.get(action=AuditAction.CREATE, summary__startswith="结案后 3 个月回访")
        assert entry.person_id == closed.person_id
        assert "复发" in entry.summary

    def test_a_round_is_recorded_once_and_a_second_submit_changes_nothing(self, closed, rehab_worker):
        record(rehab_worker, closed, round=3)
        with pytest.raises(Conflict, match="结案后 3 个月的回访已经记录"):
            record(rehab_worker, closed, round=3, outcome="unsteady")
        assert list(Revisit.objects.values_list("round", "outcome")) == [(3, "stable")]

    def test_after_three_rounds_there_is_nothing_left_to_record(self, closed, rehab_worker):
        for _ in range(3):
            record(rehab_worker, closed)
        with pytest.raises(ValidationError, match=revisits.ALL_DONE):
            record(rehab_worker, closed)
        assert Revisit.objects.count() == 3

    def test_an_open_case_owes_no_revisit(self, case, rehab_worker):
        with pytest.raises(ValidationError, match=revisits.NOT_CLOSED):
            record(rehab_worker, case)
        assert not Revisit.objects.exists()

    def test_a_death_or_a_transfer_owes_no_revisit(self, admin, rehab_worker, institution):
        dead = closed_case(admin, rehab_worker, institution, reason="deceased")
        with pytest.raises(ValidationError, match="死亡"):
            record(rehab_worker, dead)
        assert not Revisit.objects.exists()

    def test_the_contact_cannot_precede_the_closure_or_lie_ahead(self, closed, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            record(rehab_worker, closed, done_on=CLOSED - dt.timedelta(days=1))
        assert exc.value.message_dict == {"done_on": [revisits.BEFORE_CLOSE.format(day=CLOSED)]}
        with pytest.raises(ValidationError):
            record(rehab_worker, closed, done_on=TODAY + dt.timedelta(days=1))
        assert not Revisit.objects.exists()

    def test_unreachable_cannot_say_relapsed(self, closed, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            record(rehab_worker, closed, outcome="unreachable", readmitted=True)
        assert exc.value.message_dict == {"outcome": [revisits.UNREACHABLE_FLAGS]}

    def test_another_institution_cannot_record_on_the_case(self, closed, other_worker):
        with pytest.raises(PermissionDenied):
            record(other_worker, closed)
        assert not Revisit.objects.exists()


class TestWorklist:
    def test_due_and_overdue_rounds_not_yet_made_earliest_first(self, closed, rehab_worker):
        record(rehab_worker, closed, round=1)
        due = selectors_revisits.revisits_due(rehab_worker, until=TODAY + dt.timedelta(days=14))
        assert [(r.case.pk, r.round, r.due_on, r.overdue(TODAY)) for r in due] == [
            (closed.pk, 3, dt.date(2026, 9, 10), True)
        ]
        later = selectors_revisits.revisits_due(rehab_worker, until=dt.date(2026, 12, 31))
        assert [r.round for r in later] == [3, 6]

    def test_no_revisit_for_a_death_nor_once_the_person_is_served_again(
        self, admin, rehab_worker, institution, closed
    ):
        closed_case(admin, rehab_worker, institution, name="李四", reason="deceased")
        elsewhere = f.institution(name="西青区阳光康复驿站")
        f.enrolled_case(
            admin=admin,
            rehab_worker=f.worker(elsewhere, username="again"),
            institution_org=elsewhere,
            person=closed.person,
            on=TODAY,
        )
        assert selectors_revisits.revisits_due(rehab_worker, until=dt.date(2027, 6, 30)) == []

    def test_another_institution_does_not_see_the_closure(self, closed, other_worker):
        assert selectors_revisits.revisits_due(other_worker, until=dt.date(2027, 6, 30)) == []

    def test_the_programme_counts_rounds_due_in_the_year_made_and_relapsed(
        self, closed, rehab_worker, institution, other_institution
    ):
        record(rehab_worker, closed, round=1, readmitted=True, outcome="unsteady")
        counts = selectors_delivery.revisits_by_institution(
            institution_ids=[institution.pk, other_institution.pk], year=2026
        )
        # 7-10 and 9-10 have fallen due; 12-10 has not by today.
        assert counts == {institution.pk: (2, 1, 1)}
        assert selectors_delivery.revisits_by_institution(institution_ids=[institution.pk], year=2027) == {}


class TestPages:
    def test_the_worker_records_a_revisit_from_the_worklist(self, client, closed, rehab_worker):
        client.force_login(rehab_worker)
        page = client.get(reverse("rehab:revisits")).content.decode()
        assert closed.person.name in page
        assert "结案后 1 个月" in page and "逾期" in page
        url = reverse("rehab:case_revisit", args=[closed.pk])
        assert client.get(url).status_code == 200
        form = {"done_on": "2026-11-20", "way": "visit", "outcome": "stable", "note": "在家帮忙做饭"}
        response = client.post(url, form)
        assert response.status_code == 302
        assert list(Revisit.objects.values_list("round", "way", "note")) == [(1, "visit", "在家帮忙做饭")]
        again = client.post(url, {**form, "round": "1"})
        assert again.status_code == 400
        assert "已经记录" in again.content.decode()
        assert Revisit.objects.count() == 1

    def test_bad_input_is_answered_in_chinese_and_saves_nothing(self, client, closed, rehab_worker):
        client.force_login(rehab_worker)
        url = reverse("rehab:case_revisit", args=[closed.pk])
        response = client.post(
            url, {"done_on": "2026-13-01", "way": "fax", "outcome": "stable", "round": "2"}
        )
        assert response.status_code == 400
        body = response.content.decode()
        assert "请输入有效的日期" in body and "所选项不在可选范围内" in body
        assert not Revisit.objects.exists()

    def test_another_institution_gets_404(self, client, closed, other_worker):
        client.force_login(other_worker)
        assert client.get(reverse("rehab:case_revisit", args=[closed.pk])).status_code == 404
        assert closed.person.name not in client.get(reverse("rehab:revisits")).content.decode()

    def test_the_api_lists_the_rounds_due(self, api, closed, rehab_worker):
        rows = api(rehab_worker)("get", "/revisits").json()
        assert [(r["case_id"], r["round"], r["due_on"], r["overdue"]) for r in rows] == [
            (closed.pk, 1, "2026-07-10", True),
            (closed.pk, 3, "2026-09-10", True),
        ]
