"""The 精康 programme of the demo city: a district's 福彩公益金 and the city's budget, two purchased-service
contracts with different scopes (西青 bought by its district, 北辰 by the city), their milestones set
against what the demo's year of 精康 work delivered, one milestone already paid and one delivered and
ready to request, so the day can be walked in the browser:

- xiqing.rehab opens 精康项目, sees its contract and asks for the delivered milestone's payment, and
  answers this quarter's supervision finding;
- xiqing.admin approves it (a different person) and verifies the answer; shi.admin sees every fund,
  contract and visit of the city and keeps the supervision checklist and the standards;
- the city's and 西青's expert bank (专家库) staffs the visits and trainings; last week's training by
  西青 has its attendance recorded (the centre sees it, hours counted), this week's waits for
  xiqing.admin to record who came;
- 西青's half-year contract ended last month: xiqing.admin scored its acceptance (验收), shi.admin
  confirms it, and xiqing.rehab may then ask for its final payment (尾款).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kangfu.core.demo import TIANJIN_CITY, XIQING
from kangfu.core.models import Organisation, OrganisationKind, Region, User
from kangfu.core.months import add_months
from kangfu.programme import selectors
from kangfu.programme.models import Contract, Fund, FundSource
from kangfu.programme.services import contracts, supervision

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
        "北辰首期已支付，西青首期已完成服务量、可由 xiqing.rehab 申请付款、xiqing.admin 审批；"
        "季度督导检查表一份，上季度督导两次，本季度西青督导一次（整改待机构答复）；"
        "西青上半年合同已到期，xiqing.admin 已验收评分，待 shi.admin 确认后 xiqing.rehab 可申请尾款；"
        "专家库 4 人，培训两期（上周已签到，本周待 xiqing.admin 登记签到）。"
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
            final=True,
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
            final=True,
            **{v: getattr(b, v) for v in selectors.VOLUMES},
        ),
    )
    payment = contracts.payment_request(actor=users["beichen.rehab"], milestone=first)
    contracts.payment_approve(actor=city_admin, payment=payment, note="服务记录与节点要求相符")
    bank = _experts(users, today)
    _supervision(users, xiqing, beichen, a, b, today, bank)
    _accepted(district_admin, xiqing, district_fund, today)
    _trainings(users, xiqing, bank, today)


# The city's quarterly checklist (a local default, to be replaced by a region's own standard).
CHECKLIST = [
    ("服务场所", "场所面积、功能分区和无障碍设施符合要求", "0", "10", "1.5"),
    ("服务场所", "安全管理制度和应急预案齐全", "0", "10", "1"),
    ("服务内容", "个案档案完整（登记表、协议、评估、计划）", "0", "20", "2"),
    ("服务内容", "按合同服务范围开展服务，记录真实", "0", "20", "2"),
    ("服务内容", "随访按期完成并有危险性评估", "0", "15", "1.5"),
    ("队伍建设", "直接服务人员年度培训不少于 20 学时", "0", "10", "1"),
    ("资金管理", "项目资金专账核算、支出凭证齐全", "0", "15", "1"),
]


def _supervision(users, xiqing, beichen, a, b, today: dt.date, bank: list) -> None:
    """A checklist, last quarter's visits (one finding rectified and verified) and this quarter's visit
    to 西青 with a finding the centre has yet to answer."""
    city_admin, district_admin = users["shi.admin"], users["xiqing.admin"]
    checklist = supervision.checklist_create(
        actor=city_admin,
        code="jk-quarterly",
        name="精神障碍社区康复服务季度督导检查表",
        items=[
            supervision.ItemData(t, Decimal(hi), Decimal(lo), Decimal(w), s) for s, t, lo, hi, w in CHECKLIST
        ],
    )
    version = checklist.versions.get(is_current=True)
    items = list(version.items.order_by("seq"))
    this_quarter = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    last_quarter_day = this_quarter - dt.timedelta(days=20)

    def visit(actor, inst, contract, day, marks, findings):
        # The city's psychiatrist and social-work experts join every visit (they are always available).
        return supervision.visit_record(
            actor=actor,
            data=supervision.VisitData(
                institution=inst,
                contract=contract,
                year=day.year,
                quarter=(day.month - 1) // 3 + 1,
                visited_on=day,
                version=version,
                team="区民政局、区卫健委、区财政局联合督导组",
                summary="服务开展正常，档案管理需加强。",
                scores={i.pk: i.max_score * Decimal(m) / 10 for i, m in zip(items, marks, strict=True)},
                findings=findings,
                experts=bank[:2],
            ),
        )

    earlier = visit(
        district_admin,
        xiqing,
        a,
        last_quarter_day,
        [9, 10, 7, 8, 8, 10, 9],
        [
            supervision.FindingData(
                "3 份个案档案缺少服务协议签字页", last_quarter_day + dt.timedelta(days=30), "中心主任"
            )
        ],
    )
    finding = earlier.findings.get()
    rehab = User.objects.get(username="xiqing.rehab")
    supervision.finding_answer(
        actor=rehab, finding=finding, answer="已补签服务协议 3 份，并建立档案月度自查。"
    )
    supervision.finding_verify(actor=district_admin, finding=finding, accepted=True, note="抽查档案，已补齐")
    visit(city_admin, beichen, b, last_quarter_day, [8, 9, 8, 9, 7, 6, 9], [])
    visit(
        district_admin,
        xiqing,
        a,
        max(this_quarter, today - dt.timedelta(days=3)),
        [9, 9, 8, 9, 6, 10, 9],
        [supervision.FindingData("部分随访超期未完成", today + dt.timedelta(days=30), "个案社工组长")],
    )


def _accepted(district_admin: User, xiqing: Organisation, fund, today: dt.date) -> None:
    """A half-year contract of 西青's that ended last month, its acceptance scored by xiqing.admin on the
    shipped acceptance standard and waiting for shi.admin's confirmation, after which xiqing.rehab
    may ask for its final payment (尾款)."""
    from kangfu.programme.models import Standard, StandardItem, StandardVersion
    from kangfu.programme.services import standards
    from kangfu.programme.standards import ACCEPTANCE_CODE, ensure_shipped

    ensure_shipped(Standard, StandardVersion, StandardItem)
    starts = add_months(today.replace(day=1), -11)
    ends = add_months(starts, 6) - dt.timedelta(days=1)
    if ends >= today:
        return
    scope = ["medication", "relapse", "psychological"]
    done = _delivered(xiqing, scope, starts, ends)
    c = contracts.contract_create(
        actor=district_admin,
        data=contracts.ContractData(
            title="西青区精神障碍社区康复服务（上半年服药与心理支持）",
            institution=xiqing,
            fund=fund,
            starts_on=starts,
            ends_on=ends,
            amount=Decimal("150000.00"),
            service_types=scope,
            **{v: max(done[v], 1) for v in selectors.VOLUMES},
        ),
    )
    contracts.milestone_add(
        actor=district_admin,
        contract=c,
        data=contracts.MilestoneData(
            name="尾款（验收后支付）", amount=Decimal("150000.00"), due_on=ends, final=True
        ),
    )
    version = Standard.objects.get(code=ACCEPTANCE_CODE).versions.get(is_current=True)
    marks = iter(["9", "8.5", "9.5"])
    standards.acceptance_score(
        actor=district_admin,
        contract=c,
        data=standards.AcceptanceData(
            version=version,
            accepted_on=ends + dt.timedelta(days=10),
            team="区民政局、区财政局、区卫健委联合验收组",
            summary="服务量基本完成，档案规范；建议加强随访及时性。",
            scores={i.pk: Decimal(next(marks)) for i in version.items.filter(indicator="").order_by("seq")},
        ),
    )


# (bank, name, field, level, organisation, title, phone)
EXPERTS = [
    (TIANJIN_CITY, "周建国", "psychiatry", "city", "天津市安定医院", "主任医师", "13802211001"),
    (TIANJIN_CITY, "孙丽华", "social_work", "city", "天津市社会工作协会", "高级社会工作师", "13802211002"),
    (TIANJIN_CITY, "马晓燕", "psychology", "provincial", "天津医科大学", "副教授", "13802211003"),
    (XIQING, "刘志强", "rehabilitation", "district", "西青区人民医院", "主管康复治疗师", "13802211004"),
]


def _experts(users, today: dt.date) -> list:
    """The city's bank and 西青's, available over the whole demo year (one of them not next month)."""
    from kangfu.programme.services import experts

    bank = []
    for region, name, field, level, org, title, phone in EXPERTS:
        actor = users["shi.admin"] if region == TIANJIN_CITY else users["xiqing.admin"]
        expert = experts.expert_create(
            actor=actor,
            data=experts.ExpertData(
                region=Region.objects.get(code=region),
                name=name,
                field=field,
                level=level,
                organisation=org,
                title=title,
                phone=phone,
            ),
        )
        ends = add_months(today.replace(day=1), 2) - dt.timedelta(days=1)
        if name == "马晓燕":  # away for a month: the bank refuses her for those days
            ends = today + dt.timedelta(days=7)
        experts.expert_window_add(
            actor=actor, expert=expert, starts_on=add_months(today.replace(day=1), -12), ends_on=ends
        )
        bank.append(expert)
    return bank


def _trainings(users, xiqing: Organisation, bank: list, today: dt.date) -> None:
    """Last week's training of 西青's staff with its attendance, and this week's without."""
    from kangfu.programme.selectors_experts import staff_for
    from kangfu.programme.services import experts

    admin = users["xiqing.admin"]
    last_week = experts.training_create(
        actor=admin,
        data=experts.TrainingData(
            held_on=today - dt.timedelta(days=7),
            hours=Decimal("6"),
            topic="精神障碍患者危机识别与干预",
            place="西青区民政局三楼会议室",
            trainers=[bank[0], bank[3]],
        ),
    )
    staff = list(
        staff_for(admin).filter(Q(organisation=xiqing) | Q(organisation__parent=xiqing)).order_by("pk")[:4]
    )
    if staff:
        experts.attendance_record(actor=admin, training=last_week, staff_ids=[s.pk for s in staff])
    experts.training_create(
        actor=admin,
        data=experts.TrainingData(
            held_on=today,
            hours=Decimal("4"),
            topic="家庭支持与照护者培训方法",
            place="西青区精神障碍社区康复服务中心",
            trainers=[bank[1]],
        ),
    )
