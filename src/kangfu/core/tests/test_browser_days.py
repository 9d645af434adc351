"""A clerk's day without dead ends: one walk per role of the demo, each started at the home page after
signing in and done only by clicking links and buttons and filling forms (no typed URL, no reload).

The world is the demo's: its organisations and accounts (`core.demo`), the city's subsidy standards and
河西's county 残联 step (`subsidies.demo`); the few people each walk needs are made by factories so
that the file stays quick. Every walk fails on a JavaScript error, a console error or an HTTP 500."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone

from kangfu.core import demo as core_demo
from kangfu.core.models import Region, User
from kangfu.core.months import month_start
from kangfu.devices.models import RentalStatus, Unit, UnitStatus
from kangfu.devices.services import rentals
from kangfu.devices.tests.factories import WENHUAXIANG, ProductFactory, UnitFactory
from kangfu.matching.models import Item, ItemStatus
from kangfu.matching.tests.test_worklist import make_items
from kangfu.people.tests.factories import (
    CertificateFactory,
    IncomePeriodFactory,
    PersonFactory,
    make_id_number,
)
from kangfu.rehab.tests import factories as rehab_factories
from kangfu.subsidies import demo as subsidies_demo
from kangfu.subsidies.models import Application, ApplicationStatus, Payroll
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import applications, payroll
from kangfu.subsidies.tests.factories import submit as submit_application

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JIUJIANGLU = core_demo.JIUJIANGLU
DAYINGMEN = core_demo.DAYINGMEN


@pytest.fixture
def world():
    """The demo's accounts and organisations, the city's standards and 河西's policy (with 残联)."""
    core_demo.load(io.StringIO())
    seed_tianjin()
    subsidies_demo._with_county_review(Region.objects.get(code=core_demo.HEXI))
    return {u.username: u for u in User.objects.all()}


@pytest.fixture
def day(page, live_server):
    """The browser page, watched for console errors and server errors on every response."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status}: {response.url}") if response.status >= 500 else None
        ),
    )
    page.problems = problems
    page.base = live_server.url
    yield page
    assert page.errors == [], page.errors
    assert problems == [], problems


def sign_in(page, username):
    """The login page is the one address typed: the day starts there and goes on from the home page."""
    page.goto(f"{page.base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", core_demo.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{page.base}/")


def sign_out(page):
    page.click("header button:has-text('退出')")
    page.wait_for_url("**/login/")


def menu(page, label):
    with page.expect_navigation():
        page.click(f"header nav.services a:has-text('{label}')")


def submit(page, selector="main form button.primary"):
    with page.expect_navigation():
        page.click(selector)


def decide(page, number, opinion="材料齐全，同意"):
    """From the home page: 两项补贴's worklist, the application, pass it."""
    menu(page, "两项补贴")
    with page.expect_navigation():
        page.click(f"main a:has-text('{number}')")
    page.check("input[name=decision][value=pass]")
    page.fill("#id_opinion", opinion)
    submit(page, "form button.primary")
    page.wait_for_selector("text=已办理")


def eligible_person(name):
    person = PersonFactory(name=name, community_code=JIUJIANGLU, born=dt.date(1966, 4, 4))
    CertificateFactory(
        person=person, digits="41", issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2035, 1, 1)
    )
    IncomePeriodFactory(person=person, start_date=dt.date(2019, 1, 1))
    return person


def approve(person, *actors):
    """An online application of this month passed by each of `actors` in turn."""
    app = submit_application(person, applied_on=month_start(timezone.localdate()))
    for actor in actors:
        app = applications.application_decide(actor=actor, application=app, decision="pass", opinion="同意")
    return app


def test_community_registers_a_person_files_at_the_counter_and_a_colleague_accepts(world, day):
    page = day
    id_number = make_id_number(401, born=dt.date(1968, 5, 6))
    sign_in(page, "shequ")
    menu(page, "一人一档")
    with page.expect_navigation():
        page.click("main a:has-text('登记新人员')")
    page.fill("#id_name", "周一日")
    page.fill("#id_id_number", id_number)
    page.fill("#id_phone", "13900004444")
    # The community worker's street is offered alone and chosen already; pick the community.
    page.select_option("#id_community", JIUJIANGLU)
    submit(page)
    page.wait_for_url("**/people/*/")
    assert "周一日" in page.inner_text("h1")

    page.click("#person-tabs a[role=tab]:has-text('残疾人证')")
    page.wait_for_selector("#id_number")
    page.fill("#id_number", id_number + "41")
    page.fill("#id_issued_on", "2020-01-01")
    page.fill("#id_expires_on", "2035-01-01")
    submit(page, "form[action$='/certificates/add/'] button.primary")
    assert "肢体残疾\t一级\t2020-01-01\t2035-01-01\t有效" in page.inner_text("#person-tabs")

    menu(page, "两项补贴")
    with page.expect_navigation():
        page.click("main a:has-text('窗口受理申请')")
    page.fill("#id_name", "周一日")
    page.fill("#id_id_number", id_number)
    page.fill("#id_phone", "13900004444")
    with page.expect_response("**/subsidies/communities/**"):
        page.select_option("#id_hukou_street", DAYINGMEN)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    page.select_option("#id_hukou_community", JIUJIANGLU)
    page.check("#id_care")
    page.fill("#id_bank_name", "天津农商银行")
    page.fill("#id_bank_account", "6222 0200 0000 4444 888")
    submit(page)
    app = Application.objects.get(person__name="周一日")
    assert app.number in page.inner_text("main")
    assert app.status == ApplicationStatus.SUBMITTED
    sign_out(page)

    sign_in(page, "shequ2")
    decide(page, app.number)
    app.refresh_from_db()
    assert app.status == ApplicationStatus.COMMUNITY_ACCEPTED
    assert "社区已受理" in page.inner_text("main")


def filed_and_accepted(world, name="吴街道"):
    """A counter application of shequ that shequ2 accepted: what the street finds in the morning."""
    person = eligible_person(name)
    app = submit_application(person, actor=world["shequ"])
    return applications.application_decide(
        actor=world["shequ2"], application=app, decision="pass", opinion="材料齐全，同意"
    )


def test_street_reviews_the_application_and_confirms_two_comparison_items_at_once(world, day):
    page = day
    app = filed_and_accepted(world)
    items = make_items(3)
    sign_in(page, "dayingmen")
    decide(page, app.number)
    app.refresh_from_db()
    assert app.status == ApplicationStatus.STREET_REVIEWED
    assert "街道已审核" in page.inner_text("main")

    menu(page, "数据比对")
    for item in items[:2]:
        page.check(f"input[name=pick][aria-label='勾选 {item.person.name}']")
    page.fill("#bulk-form #id_note", "已入户核实，见死亡证明")
    page.click("#bulk-form button[value=confirm]")
    page.wait_for_selector("text=已确认 2 条疑点")
    confirmed = Item.objects.filter(status=ItemStatus.CONFIRMED).values_list("person__name", flat=True)
    assert sorted(confirmed) == sorted(item.person.name for item in items[:2])
    assert Item.objects.get(pk=items[2].pk).status != ItemStatus.CONFIRMED


def test_county_and_district_approve_and_the_district_computes_the_month(world, day):
    page = day
    app = applications.application_decide(
        actor=world["dayingmen"],
        application=filed_and_accepted(world, "郑区级"),
        decision="pass",
        opinion="同意",
    )
    this_month = month_start(timezone.localdate())
    # 河西's policy puts the county 残联 between the street and the district.
    sign_in(page, "hexi.canlian")
    decide(page, app.number)
    app.refresh_from_db()
    assert app.status == ApplicationStatus.COUNTY_REVIEWED
    sign_out(page)

    sign_in(page, "hexi.admin")
    decide(page, app.number)
    app.refresh_from_db()
    assert app.status == ApplicationStatus.APPROVED
    assert "已批准" in page.inner_text("main")

    with page.expect_navigation():
        page.click("main nav a:has-text('月度发放')")
    page.fill("#id_month", f"{this_month:%Y-%m}")  # a month picker
    submit(page)
    page.wait_for_selector("#payroll-total")
    run = Payroll.objects.get(district_id=core_demo.HEXI, month=this_month)
    assert page.inner_text("#payroll-total") == f"{run.total:.2f}"
    assert run.total > 0
    assert "郑区级" in page.inner_text("main")


def test_the_checker_reviews_the_lines_and_locks_the_payroll(world, day):
    page = day
    person = eligible_person("王复核")
    this_month = month_start(timezone.localdate())
    approve(person, world["shequ"], world["dayingmen"], world["hexi.canlian"], world["hexi.admin"])
    run = payroll.payroll_run(actor=world["hexi.admin"], district=person.district, month=this_month)
    sign_in(page, "hexi.fuhe")
    menu(page, "两项补贴")
    with page.expect_navigation():
        page.click("main nav a:has-text('月度发放')")
    with page.expect_navigation():
        page.click(f"main a[href$='/payroll/{run.pk}/']")
    assert "王复核" in page.inner_text("main")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('审核锁定')")
    page.wait_for_selector("text=已锁定")
    run.refresh_from_db()
    assert run.locked_by == world["hexi.fuhe"]


def test_the_rental_clerk_hands_a_reserved_unit_over_early_and_takes_it_back(world, day):
    page = day
    clerk = world["wuqing.fuju"]
    # The demo's centre is the clerk's organisation: the factories find it rather than make another.
    product = ProductFactory(centre=clerk.organisation, name="轻便折叠轮椅", needs_fitting=False)
    unit = UnitFactory(product=product, serial="WQ-DAY-01")
    person = PersonFactory(name="冯租用", community_code=WENHUAXIANG, county="120114")
    today = timezone.localdate()
    start = today + dt.timedelta(days=3)
    rental = rentals.rental_create(
        actor=clerk,
        person=person,
        data=rentals.RentalData(unit_id=unit.pk, start_date=start, end_date=start + dt.timedelta(days=29)),
    )
    sign_in(page, "wuqing.fuju")
    menu(page, "辅具租赁")
    with page.expect_navigation():
        page.click(f"main section:has(h2:has-text('待交付')) a:has-text('{rental.number}')")
    assert f"起租日期为 {start:%Y-%m-%d}" in page.inner_text("main")
    page.fill("#id_training_content", "折叠与展开、刹车、上下坡注意事项")
    submit(page, "main form:has(input[value=handover]) button.primary")
    page.wait_for_selector("text=归还验收")
    rental.refresh_from_db()
    assert (rental.status, rental.start_date) == (RentalStatus.ACTIVE, today)
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RENTED

    page.fill("#id_returned_on", today.isoformat())
    page.select_option("#id_condition", index=0)
    submit(page, "main form:has(input[value=return]) button.primary")
    page.wait_for_selector("text=该租赁已结束")
    rental.refresh_from_db()
    assert rental.status == RentalStatus.RETURNED
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RETURNED

    menu(page, "辅具租赁")
    assert "WQ-DAY-01" in page.inner_text("main section:has(h2:has-text('待清洗消毒'))")


PHONE = {"width": 390, "height": 844}


def test_the_rehab_worker_records_a_follow_up_on_a_phone(world, day):
    page = day
    worker = world["xiqing.rehab"]
    overdue = timezone.localdate() - dt.timedelta(days=20)
    case = rehab_factories.enrolled_case(
        admin=world["xiqing.admin"],
        rehab_worker=worker,
        institution_org=worker.organisation,
        person=rehab_factories.patient(name="褚随访"),
        on=overdue,
    )
    page.set_viewport_size(PHONE)
    sign_in(page, "xiqing.rehab")
    menu(page, "精康融合")
    with page.expect_navigation():
        page.click("nav.subnav a:has-text('随访')")
    card = page.locator("#follow-ups tbody tr", has_text="褚随访")
    assert "逾期" in card.inner_text()
    with page.expect_navigation():
        card.locator("a.button:has-text('随访')").click()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.select_option("#id_mode", "phone")
    page.select_option("#id_risk_level", "0")
    page.select_option("#id_stability", "stable")
    page.select_option("#id_adherence", "regular")
    page.select_option("#id_insight", "full")
    submit(page)
    assert "已记录随访（稳定）" in page.inner_text("ul.messages")
    assert case.follow_ups.count() == 1
