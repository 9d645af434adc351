"""Funds, contracts and milestones for the programme's tests, made through the services so that their
ledger and audit rows exist as they would in use; every value a test asserts on is set here or by it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from kangfu.core.models import Region
from kangfu.programme.models import Contract, Fund, FundSource, Milestone
from kangfu.programme.services import contracts, supervision
from kangfu.rehab.tests import factories as f

CITY = "120100000000"


def fund(
    actor, *, region: str = f.XIQING, amount: str = "500000.00", year: int = 2026, name: str = ""
) -> Fund:
    return contracts.fund_create(
        actor=actor,
        region=Region.objects.get(code=region),
        source=FundSource.WELFARE_LOTTERY,
        year=year,
        name=name or "精康服务福彩公益金",
        amount=Decimal(amount),
    )


def contract(
    actor,
    fund: Fund,
    institution,
    *,
    amount: str = "300000.00",
    service_types=("social", "living"),
    starts_on: dt.date = dt.date(2026, 1, 1),
    ends_on: dt.date = dt.date(2026, 12, 31),
    title: str = "西青区精神障碍社区康复服务项目",
    sites=(),
    **volumes,
) -> Contract:
    values = {"people": 3, "sessions": 4, "people_times": 8, "follow_ups": 4, "staff_trained": 2, **volumes}
    return contracts.contract_create(
        actor=actor,
        data=contracts.ContractData(
            title=title,
            institution=institution,
            fund=fund,
            starts_on=starts_on,
            ends_on=ends_on,
            amount=Decimal(amount),
            service_types=list(service_types),
            sites=list(sites),
            **values,
        ),
    )


def milestone(
    actor, contract: Contract, *, amount: str = "100000.00", name: str = "", **volumes
) -> Milestone:
    return contracts.milestone_add(
        actor=actor,
        contract=contract,
        data=contracts.MilestoneData(name=name or "首期", amount=Decimal(amount), **volumes),
    )


CHECKLIST_ITEMS = [
    ("服务场所", "服务场所与设施", "10", "2"),
    ("服务质量", "个案服务与随访", "20", "1"),
    ("队伍建设", "工作人员培训", "5", "1"),
]


def checklist(actor, *, code: str = "jk-supervision", name: str = "精康服务季度督导检查表", items=None):
    items = items or [
        supervision.ItemData(text, Decimal(high), weight=Decimal(weight), section=section)
        for section, text, high, weight in CHECKLIST_ITEMS
    ]
    return supervision.checklist_create(actor=actor, code=code, name=name, items=items)


def visit(
    actor, institution, version, *, score: str = "5", quarter: int = 4, visited_on=dt.date(2026, 11, 16)
):
    """A quarter's visit with every item scored alike and one finding."""
    return supervision.visit_record(
        actor=actor,
        data=supervision.VisitData(
            institution=institution,
            year=visited_on.year,
            quarter=quarter,
            visited_on=visited_on,
            version=version,
            team="督导组",
            scores={item.pk: Decimal(score) for item in version.items.all()},
            findings=[
                supervision.FindingData("服务档案缺少随访记录", visited_on + dt.timedelta(days=30), "王主任")
            ],
        ),
    )


def shipped_standard(code: str = ""):
    """The shipped assessment standard (or `code`'s), put back first if a flush took it away."""
    from kangfu.programme.models import Standard, StandardItem, StandardVersion
    from kangfu.programme.standards import ASSESSMENT_CODE, ensure_shipped

    ensure_shipped(Standard, StandardVersion, StandardItem)
    return Standard.objects.get(code=code or ASSESSMENT_CODE)


def acceptance(actor, contract: Contract, *, score: str = "10", on: dt.date | None = None):
    """The contract's acceptance on the shipped acceptance standard, every scored item alike."""
    from kangfu.programme.services import standards
    from kangfu.programme.standards import ACCEPTANCE_CODE

    version = shipped_standard(ACCEPTANCE_CODE).versions.get(is_current=True)
    return standards.acceptance_score(
        actor=actor,
        contract=contract,
        data=standards.AcceptanceData(
            version=version,
            accepted_on=on or contract.ends_on,
            team="验收组",
            scores={i.pk: Decimal(score) for i in version.items.filter(indicator="")},
        ),
    )


def expert(
    actor,
    *,
    region: str = CITY,
    name: str = "李明",
    field: str = "psychiatry",
    available=(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    phone: str = "13812345678",
):
    """An expert of a bank (the city's unless told), available over `available` (None: never)."""
    from kangfu.programme.services import experts

    made = experts.expert_create(
        actor=actor,
        data=experts.ExpertData(
            region=Region.objects.get(code=region),
            name=name,
            field=field,
            level="city",
            organisation="天津市安定医院",
            title="主任医师",
            phone=phone,
        ),
    )
    if available:
        experts.expert_window_add(actor=actor, expert=made, starts_on=available[0], ends_on=available[1])
    return made


def training(actor, trainers, *, held_on=dt.date(2026, 11, 10), hours: str = "6", topic: str = "危机干预"):
    from kangfu.programme.services import experts

    return experts.training_create(
        actor=actor,
        data=experts.TrainingData(
            held_on=held_on, hours=Decimal(hours), topic=topic, trainers=list(trainers)
        ),
    )
