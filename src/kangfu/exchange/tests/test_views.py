"""The pages of 数据交换: who may ask for a file, download it and mark it sent; a district sees only
its own batches (another's, or a forged id, is a 404); the send log costs the same however long."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from kangfu.core.models import AuditAction, AuditEntry, Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.exchange import services
from kangfu.exchange.models import Batch, BatchStatus
from kangfu.exchange.tests import scenario
from kangfu.exchange.tests.scenario import DONGLI, HEXI, MONTH

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 12, 9, 0), tick=False):
        yield


@pytest.fixture(autouse=True)
def shipped(db):
    services.install_shipped()


@pytest.fixture
def dongli_admin(db):
    return UserFactory(username="dongli_admin", role=Role.DISTRICT_ADMIN, jurisdiction_id=DONGLI)


def made(region: str, code: str = "lb-approvals", period=MONTH) -> Batch:
    batch = services.batch_request(actor=None, code=code, region=Region.objects.get(pk=region), period=period)
    return services.batch_generate(batch.pk)


def test_a_district_office_asks_for_a_file_and_downloads_it(
    login, district_admin, django_capture_on_commit_callbacks
):
    scenario.build(2)
    client = login(district_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/exchange/", {"layout": "lb-approvals", "region": HEXI, "period": "2026-10"})
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exchange/b/{batch.pk}/"
    assert batch.status == BatchStatus.GENERATED and batch.requested_by == district_admin
    page = client.get(f"/exchange/b/{batch.pk}/")
    assert batch.filename in page.content.decode()
    download = client.get(f"/exchange/b/{batch.pk}/file/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith("行政区划代码".encode("gbk"))
    assert AuditEntry.objects.filter(
        action=AuditAction.EXPORT, actor=district_admin, object_id=str(batch.pk), summary__startswith="下载"
    ).exists()


def test_asking_twice_for_the_same_month_says_so_and_makes_nothing(login, district_admin):
    made(HEXI)
    response = login(district_admin).post(
        "/exchange/", {"layout": "lb-approvals", "region": HEXI, "period": "2026-10"}
    )
    assert response.status_code == 400
    assert "已生成" in response.content.decode()
    assert Batch.objects.count() == 1


def test_a_district_cannot_ask_for_another_districts_file(login, district_admin):
    response = login(district_admin).post(
        "/exchange/", {"layout": "lb-approvals", "region": DONGLI, "period": "2026-10"}
    )
    assert response.status_code == 400
    assert not Batch.objects.exists()


def test_another_districts_batch_or_a_forged_id_is_404(login, district_admin):
    theirs = made(DONGLI)
    client = login(district_admin)
    for url in (f"/exchange/b/{theirs.pk}/", f"/exchange/b/{theirs.pk}/file/", "/exchange/b/99999/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/exchange/b/{theirs.pk}/sent/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == BatchStatus.GENERATED
    assert not AuditEntry.objects.filter(actor=district_admin, action=AuditAction.EXPORT).exists()


def test_the_city_sees_every_districts_batches(login, city_admin):
    ours, theirs = made(HEXI), made(DONGLI)
    page = login(city_admin).get("/exchange/").content.decode()
    assert f"/exchange/b/{ours.pk}/" in page and f"/exchange/b/{theirs.pk}/" in page


def test_a_street_officer_is_refused(login, owner):
    assert login(owner).get("/exchange/").status_code == 403


def test_a_batch_is_marked_sent_once_then_acknowledged(login, district_admin):
    batch = made(HEXI)
    client = login(district_admin)
    client.post(f"/exchange/b/{batch.pk}/sent/", {"note": "已上传国家系统"})
    second = client.post(f"/exchange/b/{batch.pk}/sent/", follow=True)
    assert services.TAKEN in second.content.decode()
    client.post(f"/exchange/b/{batch.pk}/acknowledged/")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ACKNOWLEDGED and batch.sent_by == district_admin
    assert batch.note == "已上传国家系统"


def test_the_demo_leaves_hexi_admin_a_file_to_mark_sent_and_one_to_make(login):
    import io

    from kangfu.core import demo as core_demo
    from kangfu.core.models import User
    from kangfu.exchange import demo

    core_demo.load(io.StringIO())
    demo.load(io.StringIO())
    demo.load(io.StringIO())  # loaded twice, it adds nothing
    admin = User.objects.get(username="hexi.admin")
    assert sorted(Batch.objects.values_list("code", "status")) == [
        ("lb-approvals", BatchStatus.GENERATED),
        ("lb-changes", BatchStatus.ACKNOWLEDGED),
    ]
    waiting = Batch.objects.get(code="lb-approvals")
    client = login(admin)
    client.post(f"/exchange/b/{waiting.pk}/sent/")
    waiting.refresh_from_db()
    assert waiting.status == BatchStatus.SENT
