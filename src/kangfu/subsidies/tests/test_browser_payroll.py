"""The payroll page in the browser: the reviewer sees the lines before locking, and the payment file
can be downloaded again and again without reloading the page."""

import datetime as dt

import pytest

from kangfu.conftest import load_regions
from kangfu.core.models import Role
from kangfu.core.months import month_start
from kangfu.core.tests.factories import PASSWORD, UserFactory
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import payroll
from kangfu.subsidies.tests.factories import approve

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _locked_payroll():
    load_regions()
    seed_tianjin()
    users = {
        name: UserFactory(username=name, role=role, jurisdiction_id=region)
        for name, role, region in [
            ("sq", Role.COMMUNITY_WORKER, "120103001001"),
            ("jd", Role.STREET_OFFICER, "120103001000"),
            ("qj", Role.DISTRICT_ADMIN, "120103000000"),
            ("fh", Role.DISTRICT_ADMIN, "120103000000"),
        ]
    }
    person = PersonFactory(name="钱下载", community_code="120103001001", born=dt.date(1966, 4, 4))
    CertificateFactory(
        person=person, digits="41", issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2035, 1, 1)
    )
    IncomePeriodFactory(person=person, start_date=dt.date(2019, 1, 1))
    month = month_start(dt.date.today())
    approve(person, users["sq"], users["jd"], users["qj"], applied_on=month)
    run = payroll.payroll_run(actor=users["qj"], district=person.district, month=month)
    return payroll.payroll_lock(actor=users["fh"], payroll=run)


def test_the_payment_file_downloads_twice_without_reloading_the_page(page, live_server):
    run = _locked_payroll()
    base = live_server.url
    log_in(page, base, "fh")
    page.goto(f"{base}/subsidies/payroll/{run.pk}/")
    export = page.locator("a[data-export=xlsx], button:has-text('导出发放文件')").first
    for _ in range(2):
        with page.expect_download(timeout=5000) as download:
            export.click()
        assert download.value.suggested_filename.endswith(".xlsx")
        assert export.is_enabled()
    assert page.errors == []
