import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from kangfu.core.models import Role
from kangfu.core.tests.factories import UserFactory
from kangfu.matching.models import ComparisonRun, FeedImport, Item, ItemStatus
from kangfu.matching.services import NOT_YOURS, feed_confirm, feed_source_save
from kangfu.matching.tests.conftest import HEXI

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def quju(db):
    return UserFactory(username="qj", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)


@pytest.fixture
def jiedao(db):
    return UserFactory(username="jd", role=Role.STREET_OFFICER, jurisdiction_id="120103001000")


def test_a_feed_is_uploaded_previewed_and_confirmed_through_the_pages(login, quju):
    source = feed_source_save(
        actor=None, name="公安死亡", kind="death", mapping={"id_number": "身份证号", "event_date": "死亡日期"}
    )
    upload = SimpleUploadedFile(
        "d.csv", "身份证号,死亡日期\n120103197011210016,2026-10-01\n坏号码,2026-10-02\n".encode("gbk")
    )
    client = login(quju)
    response = client.post("/matching/feeds/", {"source": source.pk, "period": "2026-11-01", "file": upload})
    feed = FeedImport.objects.get()
    assert response.status_code == 302
    body = client.get(f"/matching/feeds/{feed.pk}/").content.decode()
    assert "第" in body or "问题行" in body
    client.post(f"/matching/feeds/{feed.pk}/", {"action": "confirm"})
    feed.refresh_from_db()
    assert (feed.status, feed.valid_lines, len(feed.errors)) == ("confirmed", 1, 1)


def test_a_preview_is_the_uploading_districts_alone_until_it_is_confirmed(client, quju):
    """Another district's payroll office can neither read, discard nor confirm an upload it did
    not make; once confirmed, the feed is evidence every district reads (its lines scoped)."""
    heping = UserFactory(username="hp", role=Role.DISTRICT_ADMIN, jurisdiction_id="120101000000")
    source = feed_source_save(
        actor=None, name="公安死亡", kind="death", mapping={"id_number": "身份证号", "event_date": "死亡日期"}
    )
    upload = SimpleUploadedFile("d.csv", "身份证号,死亡日期\n120103197011210016,2026-10-01\n".encode())
    client.force_login(quju)
    client.post("/matching/feeds/", {"source": source.pk, "period": "2026-11-01", "file": upload})
    feed = FeedImport.objects.get()
    assert feed.district_id == HEXI

    client.force_login(heping)
    assert client.get(f"/matching/feeds/{feed.pk}/").status_code == 404
    assert f"/matching/feeds/{feed.pk}/" not in client.get("/matching/feeds/").content.decode()
    for action in ("confirm", "discard"):
        assert client.post(f"/matching/feeds/{feed.pk}/", {"action": action}).status_code == 404
    with pytest.raises(PermissionDenied, match=NOT_YOURS):
        feed_confirm(actor=heping, feed=feed)
    feed.refresh_from_db()
    assert feed.status == "preview"

    feed_confirm(actor=quju, feed=feed)
    assert client.get(f"/matching/feeds/{feed.pk}/").status_code == 200


def test_a_street_officer_cannot_upload_feeds(login, jiedao):
    assert login(jiedao).get("/matching/feeds/").status_code == 403


def test_the_district_runs_the_comparison_from_the_page(
    login, quju, death_item, django_capture_on_commit_callbacks
):
    Item.objects.all().delete()
    # The run is queued once it is committed, which a test's transaction never is: run it then.
    with django_capture_on_commit_callbacks(execute=True):
        response = login(quju).post("/matching/", {"period": "2026-11-01"})
    assert response.status_code == 302
    run = ComparisonRun.objects.order_by("-pk").first()
    assert (run.status, run.progress) == ("done", 100)
    assert Item.objects.count() == 1


def test_the_street_sees_its_items_and_confirms_and_the_district_approves(login, quju, jiedao, death_item):
    assert death_item.person.name in login(jiedao).get("/matching/").content.decode()
    login(jiedao).post(f"/matching/items/{death_item.pk}/", {"action": "confirm", "note": "已核实火化证明"})
    assert Item.objects.get().status == ItemStatus.CONFIRMED
    login(quju).post(f"/matching/items/{death_item.pk}/", {"action": "approve"})
    assert Item.objects.get().status == ItemStatus.APPROVED


def test_another_districts_officer_gets_404(login, death_item):
    other = UserFactory(username="dl", role=Role.DISTRICT_ADMIN, jurisdiction_id="120110000000")
    assert login(other).get(f"/matching/items/{death_item.pk}/").status_code == 404
    assert death_item.person.name not in login(other).get("/matching/").content.decode()


def test_the_items_export_neutralises_formulas(login, quju, death_item):
    import io

    from openpyxl import load_workbook

    Item.objects.filter(pk=death_item.pk).update(explanation='=HYPERLINK("x")')
    sheet = load_workbook(io.BytesIO(login(quju).get("/matching/?export=xlsx").content)).active
    assert sheet.cell(row=2, column=7).value.startswith("'=")


def test_the_monthly_summary_counts_applications_started_from_found_entitlements(login, quju):
    from kangfu.matching.models import ComparisonRun
    from kangfu.matching.selectors import monthly
    from kangfu.people.tests.factories import CertificateFactory, PersonFactory
    from kangfu.subsidies.seed import seed_tianjin
    from kangfu.subsidies.tests.factories import submit

    seed_tianjin()
    person = PersonFactory(community_code="120103001001")
    CertificateFactory(person=person, digits="41")
    run = ComparisonRun.objects.create(district_id=HEXI, period=dt.date(2026, 11, 1))
    Item.objects.create(
        run=run,
        rule="entitled",
        direction="entitled",
        period=run.period,
        person=person,
        district_id=HEXI,
        street_id=person.street_id,
        explanation="应享未享",
        due_date=dt.date(2026, 11, 30),
    )
    submit(person, living=False, applied_on=dt.date(2026, 11, 18))
    row = next(r for r in monthly(quju) if r["month"] == dt.date(2026, 11, 1))
    assert (row["raised"], row["applications"]) == (1, 1)


def test_a_street_cannot_confirm_an_item_on_the_page_without_writing_its_basis(login, jiedao, death_item):
    from kangfu.matching.comparison import NEEDS_BASIS

    response = login(jiedao).post(f"/matching/items/{death_item.pk}/", {"action": "confirm", "note": ""})
    assert response.status_code == 400
    assert NEEDS_BASIS in response.content.decode()
    assert Item.objects.get().status == ItemStatus.OPEN


def test_an_item_is_transferred_by_choosing_a_street_of_the_district(login, jiedao, death_item):
    from kangfu.core.models import Region, RegionLevel

    other = (
        Region.objects.filter(level=RegionLevel.STREET, code__startswith=HEXI[:6])
        .exclude(code=death_item.street_id)
        .first()
    )
    client = login(jiedao)
    page = client.get(f"/matching/items/{death_item.pk}/").content.decode()
    assert f'<option value="{other.code}">{other.name}</option>' in page
    response = client.post(
        f"/matching/items/{death_item.pk}/",
        {"action": "transfer", "street": other.code, "note": "户籍在该街道"},
    )
    assert response.status_code == 302
    assert Item.objects.get().street_id == other.code


def test_a_run_says_what_it_found_in_chinese(login, quju, death_item):
    run = ComparisonRun.objects.get()
    ComparisonRun.objects.filter(pk=run.pk).update(found={"death": 3, "prison": 1, "entitled": 2})
    client = login(quju)
    for url in ("/matching/", f"/matching/runs/{run.pk}/"):
        body = client.get(url).content.decode()
        assert "死亡" in body
        for code in ("death 3", "prison 1", "entitled 2"):
            assert code not in body


def test_the_upload_page_says_which_columns_each_source_expects(login, quju):
    feed_source_save(
        actor=None,
        name="公安死亡",
        kind="death",
        mapping={"id_number": "公民身份号码", "event_date": "死亡日期"},
    )
    body = login(quju).get("/matching/feeds/").content.decode()
    assert "公安死亡" in body
    for words in ("公民身份号码", "死亡日期", "必需", "身份证号、"):
        assert words in body


def test_the_upload_page_costs_the_same_queries_however_many_sources_and_imports(login, quju):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(n, start):
        for i in range(start, start + n):
            source = feed_source_save(
                actor=None,
                name=f"来源{i}",
                kind="death",
                mapping={"id_number": "身份证号", "event_date": "死亡日期"},
            )
            upload = SimpleUploadedFile(
                f"d{i}.csv", f"身份证号,死亡日期\n120103197011210016,2026-10-0{i % 9 + 1}\n".encode()
            )
            client.post("/matching/feeds/", {"source": source.pk, "period": "2026-11", "file": upload})

    client = login(quju)
    add(1, 0)
    with CaptureQueriesContext(connection) as few:
        client.get("/matching/feeds/")
    add(6, 1)
    with CaptureQueriesContext(connection) as many:
        client.get("/matching/feeds/")
    assert FeedImport.objects.count() == 7
    assert len(few) == len(many), (len(few), len(many))
