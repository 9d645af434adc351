"""The same answer from every channel: the page, `kangfu feed import` and POST /api/v1/matching/feeds
confirm a file's valid lines, report the others, and count its duplicate and blank lines alike."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from kangfu.core.forms import BAD_MONTH
from kangfu.core.models import Region, Role
from kangfu.core.services import api_token_create
from kangfu.core.tests.factories import UserFactory
from kangfu.matching import comparison, services
from kangfu.matching.models import ComparisonRun, FeedImport, ImportStatus, Item
from kangfu.matching.tests.test_scenario import HEXI, recipient, travel
from kangfu.subsidies.seed import seed_tianjin

pytestmark = pytest.mark.django_db
M = dt.date
MAPPING = {"id_number": "身份证号", "name": "姓名", "event_date": "死亡日期"}
ID = "120103197011210016"
OTHER = "360121197011210013"
# A valid line, a blank line, a bad line, the first person again, and blank lines after the last.
FILE = f"身份证号,姓名,死亡日期\n{ID},张三,2026-10-01\n,,\n坏号码,李四,2026-10-02\n{OTHER},王五,2026-10-03\n{ID},张三,2026-10-01\n\n\n"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def district_admin(db):
    return UserFactory(username="qj", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)


def source(name="公安死亡"):
    return services.feed_source_save(actor=None, name=name, kind="death", mapping=MAPPING)


def command(tmp_path, *args, text=FILE, name="公安死亡"):
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode("gbk"))
    out = io.StringIO()
    call_command("feed", "import", name, str(path), *args, stdout=out)
    return out.getvalue()


def through_the_page(client, src):
    upload = SimpleUploadedFile("d.csv", FILE.encode("gbk"))
    client.post("/matching/feeds/", {"source": src.pk, "period": "2026-11", "file": upload})
    feed = FeedImport.objects.get(source=src)
    client.post(f"/matching/feeds/{feed.pk}/", {"action": "confirm"})
    return feed


def through_the_api(client, token, src, text=FILE, period="2026-11"):
    upload = SimpleUploadedFile("d.csv", text.encode("gbk"))
    return client.post(
        "/api/v1/matching/feeds",
        {"source": src.name, "period": period, "file": upload, "confirm": "true"},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def report(feed):
    feed.refresh_from_db()
    return (
        feed.status,
        feed.period,
        feed.total_lines,
        feed.valid_lines,
        [e["line"] for e in feed.errors],
        feed.duplicates,
        feed.blank_lines,
    )


def test_the_command_confirms_the_valid_lines_and_reports_the_others(tmp_path):
    source()
    out = command(tmp_path, "--month", "2026-11", "--confirm")
    assert report(FeedImport.objects.get()) == (
        ImportStatus.CONFIRMED,
        M(2026, 11, 1),
        4,
        3,
        [4],
        [{"line": 6, "same_as": 2}],
        1,
    )
    assert "4 行，有效 3，问题 1，重复 1，空行 1" in out
    assert "第 4 行：" in out and "第 6 行与第 2 行是同一人" in out
    assert "已确认 3 行，1 个问题行未导入。" in out


def test_the_command_refuses_to_confirm_a_file_without_a_valid_line(tmp_path):
    source()
    with pytest.raises(CommandError, match="没有任何有效行"):
        command(
            tmp_path,
            "--month",
            "2026-11",
            "--confirm",
            text="身份证号,姓名,死亡日期\n坏号码,李四,2026-10-02\n",
        )
    assert FeedImport.objects.get().status == ImportStatus.PREVIEW


@pytest.mark.parametrize("month", ["2026-11", "2026/11", "202611", "2026年11月", "2026.11", "2026-11-01"])
def test_the_command_reads_the_month_however_written(tmp_path, month):
    source()
    command(tmp_path, "--month", month)
    assert FeedImport.objects.get().period == M(2026, 11, 1)


def test_the_command_refuses_a_month_it_cannot_read(tmp_path):
    source()
    with pytest.raises(CommandError, match="不是可识别的月份"):
        command(tmp_path, "--month", "十一月")
    assert not FeedImport.objects.exists()


def test_the_page_the_command_and_the_api_give_the_same_answer(login, client, tmp_path, district_admin):
    page = through_the_page(login(district_admin), source("页面"))
    command(tmp_path, "--month", "2026年11月", "--confirm", name=source("命令").name)
    token = api_token_create(actor=None, user=district_admin, name="测试")
    response = through_the_api(client, token, source("接口"), period="202611")
    assert response.status_code == 201
    body = response.json()
    by_command = FeedImport.objects.get(source__name="命令")
    by_api = FeedImport.objects.get(source__name="接口")
    assert report(page) == report(by_command) == report(by_api)
    assert report(page)[0] == ImportStatus.CONFIRMED
    assert (body["status"], body["valid_lines"], body["duplicate_lines"], body["blank_lines"]) == (
        "confirmed",
        3,
        1,
        1,
    )
    assert [e["line"] for e in body["errors"]] == [4]


def test_the_api_refuses_to_confirm_a_file_without_a_valid_line_and_says_why(client, district_admin):
    token = api_token_create(actor=None, user=district_admin, name="测试")
    response = through_the_api(
        client, token, source(), text="身份证号,姓名,死亡日期\n坏号码,李四,2026-10-02\n"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == services.NO_VALID and list(body["errors"]) == ["第 2 行"]


def test_the_api_refuses_a_month_it_cannot_read(client, district_admin):
    token = api_token_create(actor=None, user=district_admin, name="测试")
    response = through_the_api(client, token, source(), period="十一月")
    assert response.status_code == 400 and "不是可识别的月份" in response.json()["detail"]
    assert not FeedImport.objects.exists()


def test_the_page_refuses_a_month_it_cannot_read(login, district_admin):
    upload = SimpleUploadedFile("d.csv", FILE.encode("gbk"))
    response = login(district_admin).post(
        "/matching/feeds/", {"source": source().pk, "period": "十一月", "file": upload}
    )
    assert response.status_code == 400 and BAD_MONTH in response.content.decode()


def test_a_person_twice_in_a_feed_is_one_item_with_both_lines_as_evidence(login, district_admin):
    seed_tianjin()
    person = recipient(1)
    src = source()
    text = (
        f"身份证号,姓名,死亡日期\n{person.id_number},受助1,2026-09-15\n{person.id_number},受助1,2026-09-16\n"
    )
    feed = services.feed_preview(
        actor=None, source=src, raw=text.encode(), file_name="d.csv", period=M(2026, 11, 1)
    )
    services.feed_confirm(actor=None, feed=feed)
    with travel(M(2026, 11, 5)):
        comparison.run_execute(
            comparison.run_start(actor=None, district=Region.objects.get(code=HEXI), period=M(2026, 11, 1))
        )
    item = Item.objects.get()
    assert (item.rule, item.feed_row.line) == ("death", 2)
    body = login(district_admin).get(f"/matching/items/{item.pk}/").content.decode()
    assert "同月其他记录" in body and "第 3 行" in body


def test_the_compare_command_reads_the_month_as_feed_import_does():
    seed_tianjin()
    recipient(1)
    out = io.StringIO()
    call_command("compare", "--month", "2026年11月", "--district", "120103", stdout=out)
    assert "无疑点" in out.getvalue()
    assert ComparisonRun.objects.get().period == M(2026, 11, 1)
