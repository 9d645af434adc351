"""数据比对 through the real browser: a death feed is imported, the comparison run, the street confirms,
the district approves, the grant stops from the right month and the next payroll recovers."""

import datetime as dt
from decimal import Decimal

import pytest

from kangfu.conftest import load_regions
from kangfu.core.models import Region, Role
from kangfu.core.months import add_months, month_start
from kangfu.core.tests.factories import PASSWORD, UserFactory
from kangfu.matching.services import feed_source_save
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.models import Grant, GrantStatus
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import grants, payroll

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HEXI = "120103000000"


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_death_in_the_feed_ends_in_a_stop_and_a_recovery(page, live_server, tmp_path):
    load_regions()
    seed_tianjin()
    UserFactory(username="qj", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)
    UserFactory(username="jd", role=Role.STREET_OFFICER, jurisdiction_id="120103001000")
    this_month = month_start(dt.date.today())
    person = PersonFactory(name="吴已故", community_code="120103001001")
    CertificateFactory(person=person, digits="41")
    IncomePeriodFactory(person=person)
    grant = grants.grant_migrate(
        actor=None,
        person=person,
        kind="care",
        district=HEXI,
        street=person.street_id,
        start_month=add_months(this_month, -3),
        grade=1,
        category=4,
        bank_name="银行",
        bank_account="6222020000001234567",
    )
    district = Region.objects.get(code=HEXI)
    for back in (3, 2, 1):
        month = add_months(this_month, -back)
        payroll.payroll_lock(
            actor=None, payroll=payroll.payroll_run(actor=None, district=district, month=month)
        )
    feed_source_save(
        actor=None,
        name="公安死亡数据",
        kind="death",
        mapping={"id_number": "身份证号", "name": "姓名", "event_date": "死亡日期"},
    )
    died = add_months(this_month, -3).replace(day=20)  # paid since: the last two months
    path = tmp_path / "deaths.csv"
    path.write_bytes(f"身份证号,姓名,死亡日期\n{person.id_number},吴已故,{died.isoformat()}\n".encode("gbk"))
    base = live_server.url

    log_in(page, base, "qj")
    page.goto(f"{base}/matching/feeds/")
    page.select_option("#id_source", label="公安死亡数据")
    page.fill("#id_period", f"{this_month:%Y-%m}")
    page.set_input_files("#id_file", str(path))
    page.click("form button.primary")
    page.click("button:has-text('确认导入')")
    page.wait_for_selector("text=已确认")
    page.goto(f"{base}/matching/")
    page.fill("#id_period", f"{this_month:%Y-%m}")  # a month picker
    page.click("button:has-text('开始比对')")
    page.wait_for_selector("text=吴已故")
    page.click("header button:has-text('退出')")

    log_in(page, base, "jd")
    page.goto(f"{base}/matching/")
    page.click("text=吴已故")
    assert "400.00" in page.inner_text("main")
    page.fill("#id_note", "已见火化证明")
    page.click("button[value=confirm]")
    page.wait_for_selector("text=街道已确认")
    page.click("header button:has-text('退出')")

    log_in(page, base, "qj")
    page.goto(f"{base}/matching/?status=confirmed")
    page.click("text=吴已故")
    page.click("button[value=approve]")
    page.wait_for_selector("text=已销账")

    grant.refresh_from_db()
    assert (grant.status, grant.end_month) == (GrantStatus.STOPPED, add_months(this_month, -3))
    run = payroll.payroll_run(actor=None, district=district, month=this_month)
    assert run.total == Decimal("-400.00")
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.STOPPED
    assert page.errors == []


def test_a_street_searches_its_worklist_and_confirms_two_items_at_once(page, live_server):
    from kangfu.matching.models import Item, ItemStatus
    from kangfu.matching.tests.test_worklist import make_items

    load_regions()
    UserFactory(username="jd", role=Role.STREET_OFFICER, jurisdiction_id="120103001000")
    make_items(3)
    base = live_server.url
    log_in(page, base, "jd")
    page.goto(f"{base}/matching/")
    page.locator("#id_q").press_sequentially("疑点人001")
    page.wait_for_selector("input[aria-label='勾选 疑点人000']", state="detached")
    assert page.locator("input[name=pick]").count() == 1
    page.fill("#id_q", "")
    page.press("#id_q", "Enter")
    page.wait_for_selector("input[aria-label='勾选 疑点人000']")
    page.check("input[name=pick][aria-label='勾选 疑点人000']")
    page.check("input[name=pick][aria-label='勾选 疑点人002']")
    page.fill("#bulk-form #id_note", "已入户核实，见死亡证明")
    page.click("#bulk-form button[value=confirm]")
    page.wait_for_selector("text=已确认 2 条疑点")
    confirmed = Item.objects.filter(status=ItemStatus.CONFIRMED).values_list("person__name", flat=True)
    assert sorted(confirmed) == ["疑点人000", "疑点人002"]
    assert page.errors == []
