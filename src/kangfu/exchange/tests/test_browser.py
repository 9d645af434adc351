"""数据交换 in a browser: 河西's administrator asks for October's 两补 approvals file for the national
system, sees it generated, downloads it (GBK, one line per grant approved in the month), marks it sent
with a note, then received; asking again for the same month says so and makes no second file; the
regenerated one replaces the first, which stays. Only clicks and forms after signing in; fails on a
JavaScript error, a console error or an HTTP 500."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine

from kangfu.core import demo as core_demo
from kangfu.exchange import services
from kangfu.exchange.models import Batch, BatchStatus
from kangfu.exchange.tests import scenario
from kangfu.exchange.tests.scenario import HEXI, MONTH

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    with time_machine.travel(dt.datetime(2026, 11, 12, 1, tzinfo=dt.UTC), tick=True):
        # A live-server test empties every table when it ends: the shipped layouts are put back.
        services.install_shipped()
        core_demo.load(io.StringIO())
        yield scenario.build(3)


@pytest.fixture
def day(page, live_server):
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 500 else None)
    page.base = live_server.url
    page.problems = problems
    yield page
    assert problems == [], problems
    assert page.errors == [], page.errors


def click(page, selector):
    with page.expect_navigation():
        page.click(selector)


def ask_for_october(page) -> None:
    page.select_option("#id_layout", "lb-approvals")
    page.select_option("#id_region", HEXI)
    page.fill("#id_period", "2026-10")


def test_a_district_makes_downloads_and_reports_the_months_approvals_file(world, day):
    page = day
    page.goto(f"{page.base}/login/")
    page.fill("#id_username", "hexi.admin")
    page.fill("#id_password", core_demo.DEMO_PASSWORD)
    click(page, "button[type=submit]")
    page.goto(f"{page.base}/exchange/")

    ask_for_october(page)
    click(page, "form.inline-form button.primary")
    batch = Batch.objects.get()
    assert page.url.endswith(f"/exchange/b/{batch.pk}/")
    status = page.inner_text("#batch-status")
    assert "已生成" in status and batch.filename in status

    with page.expect_download() as caught:
        page.click("a:has-text('下载文件')")
    raw = caught.value.path().read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode("gbk"))))
    header, body = rows[0], rows[1:]
    approved = [g for g in world.grants if g.district_id == HEXI and g.start_month == MONTH]
    assert header[0] == "行政区划代码" and len(body) == len(approved) > 1
    ids = header.index("公民身份号码")
    assert sorted(r[ids] for r in body) == sorted(g.person.id_number for g in approved)

    page.fill("#id_note", "已上传国家系统")
    click(page, "button:has-text('标记为已报送')")
    assert "已报送" in page.inner_text("#batch-status")
    click(page, "button:has-text('标记为对方已接收')")
    status = page.inner_text("#batch-status")
    assert "已上传国家系统" in status
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ACKNOWLEDGED and batch.sent_by.username == "hexi.admin"

    # The same month again: refused, with the reason, and nothing made.
    page.goto(f"{page.base}/exchange/")
    ask_for_october(page)
    page.click("form.inline-form button.primary")
    page.wait_for_selector("text=已生成")
    assert Batch.objects.count() == 1
    # The refused form comes back as 400 Bad Request, which the browser reports on its console.
    refused = [p for p in page.problems if "status of 400" in p]
    assert len(refused) == 1
    page.problems.remove(refused[0])

    # Regenerated on purpose: a second file, the first kept and marked replaced.
    ask_for_october(page)
    page.check("#id_regenerate")
    click(page, "form.inline-form button.primary")
    first, second = Batch.objects.order_by("pk")
    assert first.replaced and not second.replaced and second.status == BatchStatus.GENERATED
    assert page.url.endswith(f"/exchange/b/{second.pk}/")
    page.goto(f"{page.base}/exchange/")
    assert page.locator("#batches tbody tr").count() == 2
