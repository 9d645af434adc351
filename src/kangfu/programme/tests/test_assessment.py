"""The year's assessment: each indicator of an institution checked against a count of its own rows,
the weighted score against a second computation, and the ranking within the district."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection

from kangfu.programme import selectors_standards as selectors
from kangfu.programme.tests import factories as pf
from kangfu.programme.tests.test_services import delivered  # noqa: F401  (the fixture)
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db


def _one(query: str, *params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def test_the_years_assessment_scores_and_ranks_each_institution(
    admin,
    city_admin,
    institution,
    contract,
    delivered,  # noqa: F811
):
    idle = f.institution(name="西青区阳光康复驿站")
    pf.visit(admin, institution, pf.checklist(city_admin).versions.get(), score="5")

    rows = selectors.assessment(admin, year=2026)

    assert [(r["institution"], r["rank"]) for r in rows] == [(institution, 1), (idle, None)]
    got = rows[0]["indicators"]
    # Delivered against contracted, each capped at 100%: 3/3, 3/4, 7/8, 2/4, 2/2.
    assert got["delivery"] == Decimal("82.5")
    done = _one("SELECT COUNT(*) FROM rehab_followup WHERE done_on >= '2026-01-01'")
    late = _one("SELECT COUNT(*) FROM rehab_followup WHERE done_on >= '2026-01-01' AND due_on < done_on")
    assert got["follow_ups"] == (Decimal(done - late) * 100 / done).quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert got["outcomes"] is None  # no re-assessment yet
    # 社工甲 12 hours, 社工乙 6: neither reached 20.
    assert got["training"] == Decimal("0.0")
    assert got["supervision"] == Decimal(_one("SELECT AVG(score) FROM programme_visit")).quantize(
        Decimal("0.1"), ROUND_HALF_UP
    )
    weights = {"delivery": 30, "follow_ups": 20, "training": 10, "supervision": 25}
    expected = sum(got[k] * w for k, w in weights.items()) / sum(weights.values())
    assert rows[0]["total"] == expected.quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert rows[1]["total"] is None


def test_another_districts_institutions_are_not_assessed_by_a_district(outsider, institution):
    assert selectors.assessment(outsider, year=2026) == []


def test_the_assessment_page_opens_for_administrators_only(client, admin, worker, institution):
    client.force_login(admin)
    assert client.get("/programme/assessment/?year=abc").status_code == 200
    client.force_login(worker)
    assert client.get("/programme/assessment/").status_code == 403


def test_the_assessment_is_in_the_api(client, admin, institution):
    from kangfu.core.services import api_token_create

    token = api_token_create(actor=None, user=admin, name="测试")
    response = client.get("/api/v1/programme/assessment?year=2026", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert [r["institution"] for r in response.json()] == [institution.name]
