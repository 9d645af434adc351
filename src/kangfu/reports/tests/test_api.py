"""The 统计上报 API: the pages' services and scoping, refusals as 400/404/409."""

from __future__ import annotations

import json

import pytest
import time_machine

from kangfu.core.services import api_token_create
from kangfu.reports.tests import factories as w

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(w.TODAY, tick=False):
        yield


def call(client, user, method, path, payload=None):
    token = api_token_create(actor=None, user=user, name="测试")
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if payload is not None:
        kwargs.update(data=json.dumps(payload), content_type="application/json")
    return getattr(client, method)(f"/api/v1/reports{path}", **kwargs)


def test_a_district_generates_and_submits_through_the_api_and_a_second_submit_is_a_conflict(client):
    hexi = w.admin("hexi", w.HEXI)
    made = call(client, hexi, "post", "/reports/devices-monthly/2026-11/generate")
    assert made.status_code == 200, made.content
    report = made.json()
    assert (report["version"], report["status"], report["figures"]["total"]["devices.rentals_new"]) == (
        1,
        "draft",
        0,
    )
    assert (
        call(client, hexi, "post", f"/reports/{report['id']}/submit", {"note": "无"}).json()["status"]
        == "submitted"
    )
    assert call(client, hexi, "post", f"/reports/{report['id']}/submit", {"note": "无"}).status_code == 409
    assert call(client, hexi, "post", "/reports/devices-monthly/2026-12/generate").status_code == 400
    assert [d["code"] for d in call(client, hexi, "get", "/definitions").json()] == [
        "devices-monthly",
        "rehab-quarterly",
        "subsidy-by-category",
        "subsidy-by-grade",
        "subsidy-monthly",
        "subsidy-stop-reasons",
    ]


def test_another_districts_report_is_not_found_through_the_api(client):
    hexi, dongli = w.admin("hexi", w.HEXI), w.admin("dongli", w.DONGLI)
    report = call(client, hexi, "post", "/reports/devices-monthly/2026-11/generate").json()
    assert call(client, dongli, "get", f"/reports/{report['id']}").status_code == 404
    assert call(client, dongli, "post", f"/reports/{report['id']}/submit", {"note": ""}).status_code == 404
    assert call(client, dongli, "get", "/reports").json() == []
