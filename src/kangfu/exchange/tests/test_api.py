"""数据交换 through the API: a district's system asks for a month's file, follows it to generated,
downloads it (an audited export) and marks it sent, once; another district's batch is a 404 and its
region refused; a role without 数据交换 is refused in Chinese."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from kangfu.core.models import AuditAction, AuditEntry, Role
from kangfu.core.services import api_token_create
from kangfu.core.tests.factories import UserFactory
from kangfu.exchange import services
from kangfu.exchange.models import Batch, BatchStatus
from kangfu.exchange.tests import scenario
from kangfu.exchange.tests.scenario import DONGLI, HEXI

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 12, 9, 0), tick=False):
        yield


@pytest.fixture(autouse=True)
def shipped(db):
    services.install_shipped()


@pytest.fixture
def api(client):
    def as_user(user):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=user, name='测试')}"}

        def call(method: str, path: str, body=None):
            kwargs = {"content_type": "application/json", "data": body} if body is not None else {}
            return getattr(client, method)(f"/api/v1/exchange{path}", **headers, **kwargs)

        return call

    return as_user


def test_a_district_system_asks_for_a_file_follows_it_downloads_and_marks_it_sent(
    api, district_admin, django_capture_on_commit_callbacks
):
    scenario.build(2)
    call = api(district_admin)
    codes = {row["code"] for row in call("get", "/layouts").json()}
    assert "lb-approvals" in codes
    with django_capture_on_commit_callbacks(execute=True):
        asked = call("post", "/batches", {"code": "lb-approvals", "region": HEXI, "period": "2026-10-01"})
    assert asked.status_code == 202, asked.content
    batch_id = asked.json()["id"]
    got = call("get", f"/batches/{batch_id}").json()
    assert got["status"] == BatchStatus.GENERATED and got["row_count"] > 0
    download = call("get", f"/batches/{batch_id}/file")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith("行政区划代码".encode("gbk"))
    assert AuditEntry.objects.filter(
        action=AuditAction.EXPORT, actor=district_admin, object_id=str(batch_id), summary__startswith="下载"
    ).exists()
    sent = call("post", f"/batches/{batch_id}/sent", {"note": "已上传部平台"})
    assert sent.status_code == 200 and sent.json()["status"] == BatchStatus.SENT
    # A retry of the same mark: someone acted first.
    assert call("post", f"/batches/{batch_id}/sent", {"note": ""}).status_code == 409
    assert [row["id"] for row in call("get", "/batches?code=lb-approvals").json()] == [batch_id]


def test_the_same_month_twice_is_refused_in_chinese_and_makes_nothing(api, district_admin):
    call = api(district_admin)
    assert (
        call("post", "/batches", {"code": "lb-approvals", "region": HEXI, "period": "2026-10-01"}).status_code
        == 202
    )
    again = call("post", "/batches", {"code": "lb-approvals", "region": HEXI, "period": "2026-10-15"})
    assert again.status_code == 400 and "已生成" in again.json()["detail"]
    assert Batch.objects.count() == 1


def test_another_districts_batch_and_region_are_out_of_reach(api, district_admin):
    dongli = UserFactory(username="dongli_admin", role=Role.DISTRICT_ADMIN, jurisdiction_id=DONGLI)
    theirs = api(dongli)(
        "post", "/batches", {"code": "lb-approvals", "region": DONGLI, "period": "2026-10-01"}
    )
    call = api(district_admin)
    assert call("get", f"/batches/{theirs.json()['id']}").status_code == 404
    assert call("post", f"/batches/{theirs.json()['id']}/sent", {}).status_code == 404
    refused = call("post", "/batches", {"code": "lb-approvals", "region": DONGLI, "period": "2026-10-01"})
    assert refused.status_code == 400 and "只能为本级或下辖的区" in str(refused.json())
    assert call("get", "/batches").json() == []
    assert Batch.objects.count() == 1


def test_a_role_without_exchange_is_refused(api):
    clerk = UserFactory(username="street", role=Role.STREET_OFFICER, jurisdiction_id="120103001000")
    response = api(clerk)("get", "/batches")
    assert response.status_code == 403 and "区、市民政局" in response.json()["detail"]
