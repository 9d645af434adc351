"""The 统计上报 API: the pages' services and scoping, refusals as 400/404/409."""

from __future__ import annotations

import json

import pytest
import time_machine

from kangfu.core.services import api_token_create
from kangfu.reports.models import Generation
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


def generated(client, user, capture, path="/reports/devices-monthly/2026-11/generate", payload=None):
    """Ask for a report through the API, let the task run as the worker would (`capture`:
    pytest-django's django_capture_on_commit_callbacks), and read the report the request names."""
    with capture(execute=True):
        asked = call(client, user, "post", path, payload)
    assert asked.status_code == 202, asked.content
    generation = call(client, user, "get", f"/generations/{asked.json()['id']}").json()
    assert generation["status"] == "done", generation
    return call(client, user, "get", f"/reports/{generation['report_id']}").json()


def test_a_district_generates_and_submits_through_the_api_and_a_second_submit_is_a_conflict(
    client, django_capture_on_commit_callbacks
):
    hexi = w.admin("hexi", w.HEXI)
    report = generated(client, hexi, django_capture_on_commit_callbacks)
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


def test_another_districts_report_is_not_found_through_the_api(client, django_capture_on_commit_callbacks):
    hexi, dongli = w.admin("hexi", w.HEXI), w.admin("dongli", w.DONGLI)
    report = generated(client, hexi, django_capture_on_commit_callbacks)
    assert call(client, dongli, "get", f"/reports/{report['id']}").status_code == 404
    assert call(client, dongli, "post", f"/reports/{report['id']}/submit", {"note": ""}).status_code == 404
    assert call(client, dongli, "get", "/reports").json() == []


def test_a_correction_through_the_api_is_a_request_naming_the_new_version(
    client, django_capture_on_commit_callbacks
):
    hexi, dongli = w.admin("hexi", w.HEXI), w.admin("dongli", w.DONGLI)
    report = generated(client, hexi, django_capture_on_commit_callbacks)
    call(client, hexi, "post", f"/reports/{report['id']}/submit", {"note": "无"})
    path = f"/reports/{report['id']}/correct"
    corrected = generated(
        client, hexi, django_capture_on_commit_callbacks, path=path, payload={"reason": "漏报"}
    )
    assert (corrected["version"], corrected["status"], corrected["correction_reason"]) == (2, "draft", "漏报")
    # Another unit's request is not theirs to read.
    asked = call(client, hexi, "get", "/reports?code=devices-monthly").json()
    assert len(asked) == 2
    theirs = Generation.objects.latest("pk").pk
    assert call(client, hexi, "get", f"/generations/{theirs}").status_code == 200
    assert call(client, dongli, "get", f"/generations/{theirs}").status_code == 404
