"""A new city goes live in the browser: `kangfu setup` makes its first administrator, who imports the
staff; a district administrator sets a password from a first-login link, imports the legacy export
(people, then recipients with the months paid), reconciles, and computes the first payroll, which a
second district administrator locks."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from kangfu.conftest import load_regions
from kangfu.core.months import month_start
from kangfu.golive import demo as samples
from kangfu.golive.tests.helpers import csv_bytes
from kangfu.subsidies.models import Payroll, PayrollSource, PayrollStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Nk-Golive-2026"


def set_password(page, link: str) -> None:
    page.goto(link)
    page.fill("#id_new_password1", PASSWORD)
    page.fill("#id_new_password2", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/accounts/first-login/done/")


def log_in(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def upload(page, base: str, kind: str, path, live_from: str = "") -> None:
    page.goto(f"{base}/golive/")
    page.select_option("#id_kind", kind)
    page.set_input_files("#id_file", str(path))
    if live_from:
        page.fill("#id_live_from", live_from)
    page.click("button:has-text('上传并检查')")
    page.wait_for_selector("text=待确认")
    page.click("button:has-text('确认导入')")
    page.wait_for_selector("text=已导入")


def test_a_new_city_goes_from_setup_to_its_first_payroll(page, live_server, tmp_path):
    load_regions()
    base = live_server.url
    page.on("dialog", lambda dialog: dialog.accept())
    out = io.StringIO()
    call_command(
        "setup",
        "--city",
        "120100",
        "--tianjin-defaults",
        "--admin",
        "ji.admin",
        "--admin-name",
        "市管理员",
        "--base-url",
        base,
        stdout=out,
    )
    admin_link = re.search(r"http://\S+/accounts/first-login/\S+", out.getvalue())[0]

    set_password(page, admin_link)
    log_in(page, base, "ji.admin")
    staff = tmp_path / "工作人员.csv"
    staff.write_bytes(
        csv_bytes(
            [
                ["用户名", "姓名", "角色", "所属机构", "管辖区划"],
                ["nk.a", "南开 计算员", "区民政管理员", "南开区民政局", "南开区"],
                ["nk.b", "南开 审核员", "区民政管理员", "南开区民政局", "南开区"],
            ]
        )
    )
    upload(page, base, "accounts", staff)
    page.goto(f"{base}/golive/invites/")
    page.click("button:has-text('生成链接')")
    links = dict(re.findall(r"(nk\.[ab])</td><td>[^<]*</td><td><code>(\S+?)</code>", page.content()))
    assert set(links) == {"nk.a", "nk.b"}

    live = month_start(timezone.localdate())
    folder = tmp_path / "export"
    people_file, recipients_file, _staff = samples.write_samples(folder, live_from=live, n=8)
    set_password(page, links["nk.a"])
    log_in(page, base, "nk.a")
    upload(page, base, "people", people_file)
    upload(page, base, "recipients", recipients_file, live_from=f"{live:%Y-%m}")
    assert Payroll.objects.filter(source=PayrollSource.LEGACY, status=PayrollStatus.LOCKED).count() == 12

    page.goto(f"{base}/golive/reconcile/?month={live:%Y-%m}")
    assert "没有不同" in page.content()

    page.goto(f"{base}/subsidies/payroll/")
    page.click("button:has-text('计算')")
    page.wait_for_url(re.compile(r".*/subsidies/payroll/\d+/"))
    first = Payroll.objects.get(source=PayrollSource.KANGFU, month=live)
    # Eight recipients of grades 1–4, twice over: 生活补贴 4 × 300 + 4 × 160, 护理补贴 4 × 200.
    assert first.total == Decimal("2640.00")

    set_password(page, links["nk.b"])
    log_in(page, base, "nk.b")
    page.goto(f"{base}/subsidies/payroll/{first.pk}/")
    page.click("button:has-text('审核锁定')")
    page.wait_for_selector("text=导出发放文件")
    first.refresh_from_db()
    assert first.status == PayrollStatus.LOCKED
    assert page.errors == []
