"""The report day in a browser: three districts submit their monthly 辅具 report (one late, one returned
by the city and resubmitted), the city aggregates them and downloads its workbook, whose figures are
the sums of the districts'. Only clicks and forms after signing in; fails on a JavaScript error, a
console error or an HTTP 500."""

from __future__ import annotations

import datetime as dt
import importlib
import io
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from kangfu.core import demo as core_demo
from kangfu.core.models import OrganisationKind
from kangfu.core.tests.factories import OrganisationFactory
from kangfu.devices.models import Charge, ChargeKind, Rental, RentalStatus
from kangfu.devices.tests.factories import UnitFactory
from kangfu.people.tests.factories import PersonFactory
from kangfu.reports.models import Report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# (district's demo administrator, a street of the district, rentals started in November)
DISTRICTS = [
    ("hexi.admin", "120103001000", 2),
    ("nankai.admin", "120104001000", 1),
    ("xiqing.admin", "120111001000", 3),
]


@pytest.fixture
def clock():
    with time_machine.travel(dt.datetime(2026, 12, 3, 1, tzinfo=dt.UTC), tick=True) as traveller:
        yield traveller


def shipped_definitions() -> None:
    """Put back the definitions the migrations ship: a live-server test is transactional, and one
    that ran before it (another app's browser walk) emptied every table when it ended."""
    from django.apps import apps

    for module, step in (
        ("0002_shipped_definitions", "load"),
        ("0003_rehab_quarterly_staff_trained", "publish"),
    ):
        getattr(importlib.import_module(f"kangfu.reports.migrations.{module}"), step)(apps, None)


@pytest.fixture
def world(clock):
    shipped_definitions()
    core_demo.load(io.StringIO())
    for n, (_user, street, rentals) in enumerate(DISTRICTS):
        centre = OrganisationFactory(
            name=f"辅具中心{n}", kind=OrganisationKind.DEVICE_CENTRE, region_id=street
        )
        for i in range(rentals):
            unit = UnitFactory(outlet=centre, product__centre=centre)
            rental = Rental.objects.create(
                person=PersonFactory(community_code=street[:9] + "001", county=street[:6]),
                product=unit.product,
                unit=unit,
                outlet=centre,
                centre=centre,
                start_date=dt.date(2026, 11, 3 + i),
                end_date=dt.date(2026, 12, 20),
                status=RentalStatus.ACTIVE,
            )
            Charge.objects.create(
                rental=rental, kind=ChargeKind.RENT, amount=Decimal("90.50"), explanation="租金"
            )


@pytest.fixture
def day(page, live_server):
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on(
        "response",
        lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 500 else None,
    )
    page.on("dialog", lambda dialog: dialog.accept())
    page.base = live_server.url
    yield page
    assert problems == [], problems


def sign_in(page, username):
    page.goto(f"{page.base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", core_demo.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{page.base}/")


def sign_out(page):
    page.click("header button:has-text('退出')")
    page.wait_for_url("**/login/")


def click(page, selector):
    with page.expect_navigation():
        page.click(selector)


def to_filing(page):
    click(page, "header nav.services a:has-text('统计')")
    click(page, "nav.subnav a:has-text('统计上报')")


def file_report(page, username, note):
    """From the home page: 统计上报, generate the November 辅具 report, check it, submit it."""
    sign_in(page, username)
    to_filing(page)
    click(page, "#def-devices-monthly tr[data-period='2026-11'] button.primary")
    page.fill("#id_note", note)
    click(page, "#submit-report")
    assert page.inner_text("#report-status") == "已上报"
    sign_out(page)


def test_three_districts_submit_and_the_city_aggregates_the_sum(world, day, clock):
    page = day
    file_report(page, "hexi.admin", "已核对")
    file_report(page, "nankai.admin", "初报")

    sign_in(page, "shi.admin")
    to_filing(page)
    click(page, "#def-devices-monthly tr[data-period='2026-11'] a:has-text('各区上报情况')")
    click(page, "#board tr[data-unit='120104000000'] a:has-text('查看')")
    page.fill("#id_return_reason", "租金收入与台账不符")
    click(page, "button:has-text('退回该区')")
    assert page.inner_text("#report-status") == "已退回"
    sign_out(page)

    file_report(page, "nankai.admin", "已按台账更正")
    clock.move_to(dt.datetime(2026, 12, 7, 1, tzinfo=dt.UTC))  # after the 5th: late
    file_report(page, "xiqing.admin", "迟报")

    sign_in(page, "shi.admin")
    to_filing(page)
    click(page, "#def-devices-monthly tr[data-period='2026-11'] a:has-text('各区上报情况')")
    states = {
        code: page.get_attribute(f"#board tr[data-unit='{code}']", "data-state")
        for code in ("120103000000", "120104000000", "120111000000", "120101000000")
    }
    assert states == {
        "120103000000": "submitted",
        "120104000000": "submitted",
        "120111000000": "late",
        "120101000000": "none",
    }
    click(page, "#aggregate")
    with page.expect_download() as download:
        page.click("a[data-export=xlsx]")
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active  # noqa: SIM115
    rows = {row[0]: row for row in sheet.iter_rows(min_row=4, values_only=True) if row and row[0]}
    header = next(sheet.iter_rows(min_row=3, max_row=3, values_only=True))
    rentals = header.index("新增租赁（笔）")
    income = header.index("租金收入（元）")
    assert [rows[name][rentals] for name in ("河西区", "南开区", "西青区")] == [2, 1, 3]
    assert rows["合计"][rentals] == 6
    assert Decimal(str(rows["合计"][income])) == Decimal("543.00")
    districts = Report.objects.filter(code="devices-monthly", status="submitted").exclude(
        unit_id="120100000000"
    )
    assert sum(r.figures["total"]["devices.rentals_new"] for r in districts) == rows["合计"][rentals]
