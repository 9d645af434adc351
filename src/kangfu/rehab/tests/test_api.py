"""The 精康 endpoints answer with the pages' rules: scope, Chinese refusals, no clinical content."""

import datetime as dt
import json

import pytest

from kangfu.rehab.models import Application
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db


def test_a_hospital_system_refers_a_patient_and_gets_the_deadline(api, admin):
    person = f.patient()
    response = api(admin)(
        "post",
        "/applications",
        {
            "id_number": person.id_number,
            "source": "medical",
            "received_on": dt.date(2026, 11, 20),
            "applicant_org": "安定医院",
        },
    )
    assert response.status_code == 201
    # Received on a Friday: five working days later is the next Friday.
    assert response.json()["check_due"] == "2026-11-27"
    again = api(admin)(
        "post",
        "/applications",
        {"id_number": person.id_number, "source": "self", "received_on": dt.date(2026, 11, 20)},
    )
    assert again.status_code == 400 and "已有未办结" in again.json()["detail"]
    assert Application.objects.count() == 1


def test_a_person_outside_the_scope_is_not_found(api, admin):
    outsider = f.patient(community_code="120103001001", county="120103")
    response = api(admin)(
        "post",
        "/applications",
        {"id_number": outsider.id_number, "source": "self", "received_on": dt.date(2026, 11, 20)},
    )
    assert response.status_code == 404


def test_the_worklist_of_follow_ups_is_the_institutions_own(api, case, rehab_worker, other_worker):
    mine = api(rehab_worker)("get", "/follow-ups")
    assert [row["case_id"] for row in mine.json()] == [case.pk]
    assert api(other_worker)("get", "/follow-ups").json() == []


def test_statistics_are_counts_without_names(api, case, admin):
    body = api(admin)("get", "/stats").json()
    assert body["open_cases"] == 1
    assert case.person.name not in json.dumps(body, ensure_ascii=False)
