"""The indicators a standard's items may compute, and the standards the programme ships with.

An item of kind `auto` names one of `INDICATORS` (a percentage, 0–100, counted from rehab's records);
an item of kind `score` is a score: in the yearly assessment the supervisors' (the year's visits,
out of 100), in an acceptance the accepting team's, entered item by item.

The shipped assessment standard's first version is the weights the assessment used before standards
were data (30/20/15/10/25), so no year's result changed when they became data; its second version,
from 2027, adds the satisfaction survey (满意度) that rehab began to record in 2026.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Indicator:
    label: str
    purposes: tuple[str, ...]  # the standards it may appear in
    kind: str = "auto"


INDICATORS: dict[str, Indicator] = {
    "delivery": Indicator("合同服务量完成率", ("assessment", "acceptance")),
    "follow_ups": Indicator("随访及时率", ("assessment", "acceptance")),
    "outcomes": Indicator("康复效果改善率", ("assessment", "acceptance")),
    "training": Indicator("人员培训达标率", ("assessment", "acceptance")),
    "supervision": Indicator("督导平均得分", ("assessment", "acceptance"), kind="score"),
    # The confirmed acceptances of the institution's contracts that ended the year before.
    "acceptance": Indicator("上年度合同验收得分", ("assessment",)),
    # rehab's 满意度 forms of the year: their mean overall score (1–5) times 20.
    "satisfaction": Indicator("服务对象满意度", ("assessment", "acceptance")),
}

ASSESSMENT_CODE = "jk-assessment"
ACCEPTANCE_CODE = "jk-acceptance"

# (kind, indicator, text, min, max, weight)
SHIPPED = {
    ASSESSMENT_CODE: {
        "name": "精康服务机构年度考核标准",
        "purpose": "assessment",
        "versions": [
            {
                "year_from": 2020,
                "note": "首版",
                "items": [
                    ("auto", "delivery", "合同服务量完成率", 0, 100, 30),
                    ("auto", "follow_ups", "随访及时率", 0, 100, 20),
                    ("auto", "outcomes", "康复效果改善率", 0, 100, 15),
                    ("auto", "training", "人员培训达标率", 0, 100, 10),
                    ("score", "supervision", "督导平均得分", 0, 100, 25),
                ],
            },
            {
                "year_from": 2027,
                "note": "增加服务对象满意度",
                "items": [
                    ("auto", "delivery", "合同服务量完成率", 0, 100, 25),
                    ("auto", "follow_ups", "随访及时率", 0, 100, 20),
                    ("auto", "outcomes", "康复效果改善率", 0, 100, 15),
                    ("auto", "training", "人员培训达标率", 0, 100, 10),
                    ("auto", "satisfaction", "服务对象满意度", 0, 100, 10),
                    ("score", "supervision", "督导平均得分", 0, 100, 20),
                ],
            },
        ],
    },
    # After 内蒙古's acceptance standards (验收标准): volumes and follow-ups counted, the rest scored
    # by the accepting team on the day.
    ACCEPTANCE_CODE: {
        "name": "精康购买服务项目验收标准",
        "purpose": "acceptance",
        "versions": [
            {
                "year_from": 2020,
                "note": "首版",
                "pass_score": 80,
                "rectify_score": 60,
                "items": [
                    ("auto", "delivery", "合同约定服务量完成率", 0, 100, 40),
                    ("auto", "follow_ups", "随访及时率", 0, 100, 15),
                    ("score", "", "服务规范与档案管理", 0, 10, 15),
                    ("score", "", "服务对象及家属满意度（现场抽查）", 0, 10, 15),
                    ("score", "", "项目资金使用规范", 0, 10, 15),
                ],
            }
        ],
    },
}


def ensure_shipped(Standard, StandardVersion, StandardItem) -> None:
    """Create the shipped standards that are missing (by code), with all their versions, the last one
    current; an existing standard is left as it is. Takes the model classes so the data migration can
    pass its historical ones."""
    for code, spec in SHIPPED.items():
        if Standard.objects.filter(code=code).exists():
            continue
        standard = Standard.objects.create(code=code, name=spec["name"], purpose=spec["purpose"])
        for number, v in enumerate(spec["versions"], start=1):
            version = StandardVersion.objects.create(
                standard=standard,
                number=number,
                is_current=number == len(spec["versions"]),
                year_from=v["year_from"],
                pass_score=v.get("pass_score"),
                rectify_score=v.get("rectify_score"),
                note=v["note"],
            )
            StandardItem.objects.bulk_create(
                [
                    StandardItem(
                        version=version,
                        seq=n,
                        kind=kind,
                        indicator=indicator,
                        text=text,
                        min_score=Decimal(low),
                        max_score=Decimal(high),
                        weight=Decimal(weight),
                    )
                    for n, (kind, indicator, text, low, high, weight) in enumerate(v["items"], start=1)
                ]
            )
