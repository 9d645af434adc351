"""The 精康 programme's day in a browser, only by clicking and filling forms from the home page: the
district puts a fund in, signs a contract with its institution, sets a milestone and records the
quarter's supervision visit; the institution, whose records already show the service, answers the
finding and asks for the payment; the city approves it. Fails on any JavaScript or console error or
HTTP 500."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.utils import timezone

from kangfu.core import demo as core_demo
from kangfu.core.models import Organisation, User
from kangfu.programme.models import (
    Contract,
    Finding,
    Fund,
    PaymentRequest,
    PaymentStatus,
    RectificationStatus,
)
from kangfu.programme.tests import factories as programme_factories
from kangfu.rehab.services import activities
from kangfu.rehab.tests import factories as rehab_factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    """The demo's accounts and organisations, and one session the 西青 centre has delivered today."""
    core_demo.load(io.StringIO())
    users = {u.username: u for u in User.objects.all()}
    centre = Organisation.objects.get(name="西青区精神障碍社区康复服务中心")
    today = timezone.localdate()
    case = rehab_factories.enrolled_case(
        admin=users["xiqing.admin"], rehab_worker=users["xiqing.rehab"], institution_org=centre, on=today
    )
    activities.activity_record(
        actor=users["xiqing.rehab"],
        data=activities.ActivityData(
            form="individual",
            service_type="social",
            mode="site",
            title="社交技能训练",
            held_on=today,
            patients=[case.pk],
        ),
    )
    # The city's supervision checklist, a standard kept apart from the day's work.
    programme_factories.checklist(users["shi.admin"])
    return users


@pytest.fixture
def day(page, live_server):
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on(
        "response",
        lambda response: (
            problems.append(f"HTTP {response.status}: {response.url}") if response.status >= 500 else None
        ),
    )
    page.base = live_server.url
    yield page
    assert page.errors == [], page.errors
    assert problems == [], problems


def sign_in(page, username):
    page.goto(f"{page.base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", core_demo.DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{page.base}/")


def sign_out(page):
    page.click("header button:has-text('退出')")


def test_from_a_fund_and_a_contract_to_a_milestone_paid(day, world):
    year = timezone.localdate().year
    sign_in(day, "xiqing.admin")
    day.click("nav.services a:has-text('精康项目')")
    day.click("nav.subnav a:has-text('项目资金')")
    day.click("a:has-text('新增资金')")
    day.select_option("#id_region", "120111000000")
    day.select_option("#id_source", "welfare_lottery")
    day.fill("#id_year", str(year))
    day.fill("#id_name", "西青区精康福彩公益金")
    day.fill("#id_amount", "300000")
    day.click("button:has-text('保存')")
    assert day.inner_text("#fund-remaining") == "300,000.00"

    day.click("nav.subnav a:has-text('购买服务合同')")
    day.click("a:has-text('新建合同')")
    day.fill("#id_title", "西青区社交能力训练项目")
    day.select_option("#id_institution", label="西青区精神障碍社区康复服务中心")
    day.select_option("#id_fund", index=1)
    day.fill("#id_starts_on", f"{year}-01-01")
    day.fill("#id_ends_on", f"{year}-12-31")
    day.fill("#id_amount", "120000.00")
    day.check("input[name=service_types][value=social]")
    day.fill("#id_sessions", "10")
    day.click("button:has-text('保存')")
    assert "社交能力训练" in day.inner_text("#contract-scope")

    day.click("summary:has-text('新增付款节点')")
    day.fill("#id_name", "首期")
    day.fill("#id_amount", "40000")
    day.fill("#id_sessions", "1")
    day.click("button:has-text('保存节点')")
    assert "已新增付款节点" in day.inner_text("ul.messages")

    today = timezone.localdate()
    day.click("nav.subnav a:has-text('督导检查')")
    day.click("a:has-text('记录督导')")
    day.select_option("#id_institution", label="西青区精神障碍社区康复服务中心")
    day.fill("#id_visited_on", today.isoformat())
    day.fill("#id_team", "区民政局、区卫健委督导组")
    for field in day.query_selector_all("input[name^=score_]"):
        field.fill("5")
    day.fill("#id_findings", f"随访记录不全|{today.isoformat()}|王主任")
    day.click("button:has-text('保存')")
    assert "已记录督导" in day.inner_text("ul.messages")
    sign_out(day)

    sign_in(day, "xiqing.rehab")
    day.click("nav.services a:has-text('精康项目')")
    day.click("a:has-text('JK')")
    day.click("#milestones button:has-text('申请付款')")
    assert "等待审批" in day.inner_text("ul.messages")
    day.click("nav.subnav a:has-text('督导检查')")
    day.click("table a:has-text('季度')")
    day.fill("#id_answer", "已补全本季度随访记录")
    day.click("button:has-text('报告整改情况')")
    assert "等待民政部门核验" in day.inner_text("ul.messages")
    sign_out(day)

    sign_in(day, "shi.admin")
    day.click("nav.services a:has-text('精康项目')")
    day.click("nav.subnav a:has-text('付款申请')")
    day.click("table a:has-text('#')")
    day.fill("#id_note", "服务记录与节点要求相符")
    day.click("#approve")
    assert day.inner_text("#payment-status") == "已批准"

    payment = PaymentRequest.objects.get()
    assert payment.status == PaymentStatus.APPROVED
    assert Contract.objects.get().paid == Decimal("40000.00")
    assert Fund.objects.get().spent == Decimal("40000.00")
    assert Finding.objects.get().status == RectificationStatus.ANSWERED
