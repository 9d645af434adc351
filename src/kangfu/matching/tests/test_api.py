import datetime as dt
import json

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from kangfu.core.models import Role
from kangfu.core.services import api_token_create
from kangfu.core.tests.factories import UserFactory
from kangfu.matching.models import FeedImport, Item
from kangfu.matching.services import feed_source_save
from kangfu.matching.tests.conftest import HEXI

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def token(db):
    user = UserFactory(username="qj_api", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=user, name='测试')}"}


def test_another_system_pushes_a_feed_and_gets_the_line_report(client, token):
    feed_source_save(
        actor=None, name="公安死亡", kind="death", mapping={"id_number": "身份证号", "event_date": "死亡日期"}
    )
    upload = SimpleUploadedFile(
        "d.csv", "身份证号,死亡日期\n120103197011210016,2026-10-01\n坏,2026-10-02\n".encode()
    )
    response = client.post(
        "/api/v1/matching/feeds", {"source": "公安死亡", "period": "2026-11-01", "file": upload}, **token
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["valid_lines"], body["errors"][0]["line"]) == (1, 3)
    assert FeedImport.objects.get().status == "preview"


def test_a_run_is_started_and_its_items_read_through_the_api(
    client, token, death_item, django_capture_on_commit_callbacks
):
    Item.objects.all().delete()
    # The run is queued once it is committed, which a test's transaction never is: run it then.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/matching/runs",
            json.dumps({"period": "2026-11-01"}),
            content_type="application/json",
            **token,
        )
    assert response.status_code == 202
    run = client.get(f"/api/v1/matching/runs/{response.json()['id']}", **token).json()
    assert run["status"] == "done"
    items = client.get("/api/v1/matching/items", **token).json()
    assert [i["rule"] for i in items] == ["death"]
