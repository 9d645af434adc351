"""The 精康 programme of the demo city: a district's 福彩公益金 and the city's budget, two purchased-service
contracts with different scopes (西青 bought by its district, 北辰 by the city), their milestones set
against what the demo's year of 精康 work delivered, one milestone already paid and one delivered and
ready to request, so the day can be walked in the browser:

- xiqing.rehab opens 精康项目, sees its contract and asks for the delivered milestone's payment;
- xiqing.admin approves it (a different person); shi.admin sees every fund and contract of the city.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from kangfu.core.demo import TIANJIN_CITY, XIQING
from kangfu.core.models import Organisation, OrganisationKind, Region, User
from kangfu.core.months import add_months
from kangfu.programme import selectors
from kangfu.programme.models import Contract, Fund, FundSource
from kangfu.programme.services import contracts

XIQING_CENTRE = "西青区精神障碍社区康复服务中心"
BEICHEN_CENTRE = "北辰区精神障碍社区康复服务中心"
XIQING_FUND = "西青区精康服务福彩公益金"
CITY_FUND = "市级精康融合行动经费"


def _share(n: int, percent: int) -> int:
    return n * percent // 100


def _volumes(delivered: dict[str, int], percent: int) -> dict[str, int]:
    return {v: _share(delivered[v], percent) for v in selectors.VOLUMES}


def _delivered(institution: Organisation, scope: list[str], starts_on: dt.date, ends_on: dt.date) -> dict:
    """What the demo's records show so far for a contract not yet signed (counted like a signed one)."""
    draft = Contract(pk=0, institution=institution, service_types=scope, starts_on=starts_on, ends_on=ends_on)
    return selectors.deliveries([draft])[0].totals


def load(out) -> None:
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["xiqing.admin", "shi.admin", "beichen.rehab"])
    }
    xiqing = Organisation.objects.filter(name=XIQING_CENTRE, kind=OrganisationKind.REHAB_INSTITUTION).first()
    beichen = Organisation.objects.filter(
        name=BEICHEN_CENTRE, kind=OrganisationKind.REHAB_INSTITUTION
    ).first()
    if len(users) < 3 or xiqing is None or beichen is None:
        return
    if Fund.objects.filter(name=XIQING_FUND).exists():
        out.write("精康项目演示数据已存在，跳过。")
        return
    out.write("建立精康项目的资金、两份购买服务合同和付款节点 …")
    today = timezone.localdate()
    year = today.year
    with transaction.atomic():
        _load(users, xiqing, beichen, today, year)
    out.write(
        "  西青区福彩公益金 80 万元、市级财政 120 万元；合同两份：西青（区购买）、北辰（市购买），"
        "北辰首期已支付，西青首期已完成服务量、可由 xiqing.rehab 申请付款、xiqing.admin 审批。"
    )


def _load(
    users: dict[str, User], xiqing: Organisation, beichen: Organisation, today: dt.date, year: int
) -> None:
    district_admin, city_admin = users["xiqing.admin"], users["shi.admin"]
    district_fund = contracts.fund_create(
        actor=district_admin,
        region=Region.objects.get(code=XIQING),
        source=FundSource.WELFARE_LOTTERY,
        year=year,
        name=XIQING_FUND,
        amount=Decimal("800000.00"),
        note=f"{year}年福彩公益金精康专项",
    )
    city_fund = contracts.fund_create(
        actor=city_admin,
        region=Region.objects.get(code=TIANJIN_CITY),
        source=FundSource.BUDGET_CITY,
        year=year,
        name=CITY_FUND,
        amount=Decimal("1000000.00"),
    )
    contracts.fund_adjust(actor=city_admin, fund=city_fund, delta=Decimal("200000.00"), note="年中追加")

    # 西青: a year that began eleven months ago, so most of it is delivered; its scope is the social
    # side of the nine services.
    starts = add_months(today.replace(day=1), -11)
    ends = add_months(starts, 12) - dt.timedelta(days=1)
    scope = ["living", "social", "vocational", "family"]
    done = _delivered(xiqing, scope, starts, ends)
    sites = list(Organisation.objects.filter(parent=xiqing, kind=OrganisationKind.REHAB_SITE))
    a = contracts.contract_create(
        actor=district_admin,
        data=contracts.ContractData(
            title="西青区精神障碍社区康复服务（生活与社会功能训练）",
            institution=xiqing,
            fund=district_fund,
            starts_on=starts,
            ends_on=ends,
            amount=Decimal("600000.00"),
            service_types=scope,
            sites=sites,
            **{v: max(done[v] * 110 // 100, done[v] + 1) for v in selectors.VOLUMES},
        ),
    )
    for name, amount, percent in (
        ("首期（服务过半）", "180000.00", 50),
        ("二期（服务八成）", "240000.00", 80),
    ):
        contracts.milestone_add(
            actor=district_admin,
            contract=a,
            data=contracts.MilestoneData(name=name, amount=Decimal(amount), **_volumes(done, percent)),
        )
    contracts.milestone_add(
        actor=district_admin,
        contract=a,
        data=contracts.MilestoneData(
            name="尾款（全部完成）",
            amount=Decimal("180000.00"),
            due_on=ends,
            **{v: getattr(a, v) for v in selectors.VOLUMES},
        ),
    )

    # 北辰: bought by the city for the clinical side, begun eight months ago; its first milestone is
    # paid (asked by the institution, approved by the city).
    starts = add_months(today.replace(day=1), -8)
    ends = add_months(starts, 12) - dt.timedelta(days=1)
    scope = ["medication", "relapse", "physical", "psychological", "peer"]
    done = _delivered(beichen, scope, starts, ends)
    b = contracts.contract_create(
        actor=city_admin,
        data=contracts.ContractData(
            title="北辰区精神障碍社区康复服务（服药与预防复发训练、同伴支持）",
            institution=beichen,
            fund=city_fund,
            starts_on=starts,
            ends_on=ends,
            amount=Decimal("500000.00"),
            service_types=scope,
            **{v: max(done[v] * 150 // 100, done[v] + 1) for v in selectors.VOLUMES},
        ),
    )
    first = contracts.milestone_add(
        actor=city_admin,
        contract=b,
        data=contracts.MilestoneData(name="首期", amount=Decimal("200000.00"), **_volumes(done, 40)),
    )
    contracts.milestone_add(
        actor=city_admin,
        contract=b,
        data=contracts.MilestoneData(
            name="尾款",
            amount=Decimal("300000.00"),
            due_on=ends,
            **{v: getattr(b, v) for v in selectors.VOLUMES},
        ),
    )
    payment = contracts.payment_request(actor=users["beichen.rehab"], milestone=first)
    contracts.payment_approve(actor=city_admin, payment=payment, note="服务记录与节点要求相符")
