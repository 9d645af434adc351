"""全程网办 through the real browser: a citizen applies online, community, street and district approve,
the month's payroll pays with arrears, the bank's file has the line, and the status page says 已发放."""

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest

from kangfu.conftest import load_regions
from kangfu.core.models import Role
from kangfu.core.months import add_months, month_start
from kangfu.core.tests.factories import PASSWORD, UserFactory
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.models import Application
from kangfu.subsidies.seed import seed_tianjin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def log_out(page):
    page.click("header button:has-text('退出')")
    page.wait_for_url("**/login/")


def decide(page, base, username, number):
    log_in(page, base, username)
    page.goto(f"{base}/subsidies/")
    page.click(f"text={number}")
    page.check("input[name=decision][value=pass]")
    page.fill("#id_opinion", "材料齐全，同意")
    page.click("form button.primary")
    page.wait_for_selector("text=已办理")
    log_out(page)


def test_an_online_application_is_approved_paid_with_arrears_and_shown_as_paid(page, live_server):
    load_regions()
    seed_tianjin()
    for username, role, region in [
        ("sq", Role.COMMUNITY_WORKER, "120103001001"),
        ("jd", Role.STREET_OFFICER, "120103001000"),
        ("qj", Role.DISTRICT_ADMIN, "120103000000"),
        ("fh", Role.DISTRICT_ADMIN, "120103000000"),
    ]:
        UserFactory(username=username, role=role, jurisdiction_id=region)
    person = PersonFactory(name="孙网办", community_code="120103001001", born=dt.date(1966, 4, 4))
    CertificateFactory(
        person=person, digits="41", issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2035, 1, 1)
    )
    IncomePeriodFactory(person=person, start_date=dt.date(2019, 1, 1))
    base = live_server.url

    page.goto(f"{base}/public/subsidies/apply/")
    page.fill("#id_name", "孙网办")
    page.fill("#id_id_number", person.id_number)
    page.fill("#id_phone", "13911112222")
    with page.expect_response("**/subsidies/communities/**"):
        page.select_option("#id_hukou_street", "120103001000")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    page.select_option("#id_hukou_community", "120103001001")
    page.check("#id_living")
    page.check("#id_care")
    page.fill("#id_bank_name", "天津农商银行")
    page.fill("#id_bank_account", "6222 0200 0000 7777 888")
    page.click("form button.primary")
    number = page.inner_text("#number")

    # The application was filed two months before it was approved: those months are owed as arrears.
    this_month = month_start(dt.date.today())
    Application.objects.filter(number=number).update(applied_on=add_months(this_month, -2))

    for username in ("sq", "jd", "qj"):
        decide(page, base, username, number)

    log_in(page, base, "qj")
    page.goto(f"{base}/subsidies/payroll/")
    page.fill("#id_month", f"{this_month:%Y-%m}")  # a month picker
    page.click("form button.primary")
    page.wait_for_selector("#payroll-total")
    assert page.inner_text("#payroll-total") == "1500.00"  # (300 + 200) × 3 months
    payroll_url = page.url
    log_out(page)

    log_in(page, base, "fh")
    page.goto(payroll_url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('审核锁定')")
    page.wait_for_selector("text=已锁定")
    with page.expect_download() as download:
        page.click("text=CSV")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert [(r["姓名"], r["金额"], r["银行账号"]) for r in rows] == [
        ("孙网办", "1500.00", "6222020000007777888")
    ]

    bank = "明细编号,金额,结果,原因\n" + f"{rows[0]['明细编号']},{rows[0]['金额']},成功,\n"
    page.set_input_files(
        "#id_file", files=[{"name": "bank.csv", "mimeType": "text/csv", "buffer": bank.encode()}]
    )
    page.click("button:has-text('导入')")
    page.wait_for_selector("text=已导入")
    log_out(page)

    page.goto(f"{base}/public/subsidies/status/")
    page.fill("#id_number", number)
    page.fill("#id_id_number", person.id_number)
    page.click("form button.primary")
    assert page.inner_text("#app-status") == "已批准"
    assert "已发放" in page.inner_text("#payments")
    assert Decimal(rows[0]["金额"]) == Decimal("1500.00")
    assert page.errors == []
