"""Eligibility for the two subsidies: small named rules over plain facts, each explaining its verdict.

The same rules run at every approval step. The payroll re-checks grants set-based in SQL
(`payroll.HOLD_QUERIES`), one query per rule with the same meaning, and its tests hold the two to
each other. Counts and lists over the registry (覆盖率) state them set-based as well:
`selectors.SET_RULES` has one condition per rule here, and its tests hold the two to each other on a
varied population.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from kangfu.core.months import add_months, month_start  # noqa: F401 (the rules' months)

LIVING = "living"
CARE = "care"
CATEGORY_NAMES = {1: "视力", 2: "听力", 3: "言语", 4: "肢体", 5: "智力", 6: "精神", 7: "多重"}
INCOME_NAMES = {"dibao": "低保", "dibao_edge": "低保边缘", "tekun": "特困供养"}


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about an applicant on a given day."""

    alive_and_free: bool = True  # not dead, declared dead, missing or in prison
    vital_label: str = "正常"
    certificate: tuple[int, int] | None = None  # (category, grade) of a valid, unexpired certificate
    income_statuses: frozenset[str] = frozenset()  # current 低保 / 低保边缘 / 特困
    hukou_in_region: bool = True
    benefits: frozenset[str] = frozenset()  # current other allowances (BenefitKind values)
    same_nature_amount: Decimal = Decimal("0")
    elderly_care_amount: Decimal = Decimal("0")
    amount: Decimal = Decimal("0")  # this subsidy's monthly standard for the applicant


@dataclass(frozen=True)
class PolicyFacts:
    living_income_statuses: frozenset[str] = frozenset({"dibao", "dibao_edge"})
    care_extra_categories: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Verdict:
    rule: str
    ok: bool
    message: str


Rule = Callable[[Facts, PolicyFacts], Verdict]


def alive(f: Facts, p: PolicyFacts) -> Verdict:
    if f.alive_and_free:
        return Verdict("alive", True, "人员状态正常。")
    return Verdict("alive", False, f"人员状态为“{f.vital_label}”，不能享受补贴。")


def valid_certificate(f: Facts, p: PolicyFacts) -> Verdict:
    if f.certificate:
        category, grade = f.certificate
        return Verdict("certificate", True, f"持有效第二代残疾人证（{CATEGORY_NAMES[category]}{grade}级）。")
    return Verdict("certificate", False, "没有有效的第二代残疾人证（未持证、已注销或已过期）。")


def household_in_region(f: Facts, p: PolicyFacts) -> Verdict:
    if f.hukou_in_region:
        return Verdict("hukou", True, "户籍在本区。")
    return Verdict("hukou", False, "户籍不在本区，应向户籍地申请（可跨省通办转交）。")


def living_income(f: Facts, p: PolicyFacts) -> Verdict:
    held = f.income_statuses & p.living_income_statuses
    wanted = "、".join(INCOME_NAMES[s] for s in sorted(p.living_income_statuses))
    if held:
        return Verdict(
            "income", True, f"家庭为{INCOME_NAMES[sorted(held)[0]]}，符合生活补贴条件（本地认可：{wanted}）。"
        )
    return Verdict("income", False, f"生活补贴须为{wanted}家庭，申请人当前不是。")


def care_grade(f: Facts, p: PolicyFacts) -> Verdict:
    if f.certificate is None:
        return Verdict("grade", False, "护理补贴须持有效残疾人证。")
    category, grade = f.certificate
    if grade <= 2:
        return Verdict("grade", True, f"残疾等级{grade}级，属重度残疾。")
    if category in p.care_extra_categories:
        return Verdict("grade", True, f"{CATEGORY_NAMES[category]}残疾{grade}级，本地护理补贴扩展到该类别。")
    return Verdict(
        "grade", False, f"护理补贴须为一、二级重度残疾人（本人{CATEGORY_NAMES[category]}{grade}级）。"
    )


def not_tekun(f: Facts, p: PolicyFacts) -> Verdict:
    if "tekun" in f.income_statuses:
        return Verdict("tekun", False, "已纳入特困人员救助供养，不再享受两项补贴。")
    return Verdict("tekun", True, "未纳入特困供养。")


def no_work_injury_care(f: Facts, p: PolicyFacts) -> Verdict:
    if "work_injury_care" in f.benefits:
        return Verdict("work_injury", False, "已享受工伤保险生活护理费，不再享受两项补贴。")
    return Verdict("work_injury", True, "未享受工伤保险生活护理费。")


def not_orphan_for_living(f: Facts, p: PolicyFacts) -> Verdict:
    if "orphan" in f.benefits:
        return Verdict("orphan", False, "享受孤儿基本生活保障的残疾孤儿不享受生活补贴（可享受护理补贴）。")
    return Verdict("orphan", True, "未享受孤儿基本生活费。")


def not_with_elderly_care(f: Facts, p: PolicyFacts) -> Verdict:
    """择高 (DOMAIN.md): beside 老年人护理补贴 the higher of the two is paid, as the payroll and the
    comparison decide it; an allowance of unknown amount counts as the higher until it is known."""
    if "elderly_care" not in f.benefits:
        return Verdict("elderly_care", True, "未享受老年人护理补贴。")
    if f.elderly_care_amount <= 0 or f.elderly_care_amount > f.amount:
        shown = f"每月 {f.elderly_care_amount} 元" if f.elderly_care_amount > 0 else "（金额未知）"
        return Verdict(
            "elderly_care", False, f"已享受老年人护理补贴{shown}，高于本补贴 {f.amount} 元，择高不重复享受。"
        )
    return Verdict(
        "elderly_care",
        True,
        f"老年人护理补贴每月 {f.elderly_care_amount} 元，不高于本补贴 {f.amount} 元，择高享受本补贴。",
    )


def higher_of_same_nature(f: Facts, p: PolicyFacts) -> Verdict:
    if "same_nature" in f.benefits and f.same_nature_amount >= f.amount:
        return Verdict(
            "same_nature",
            False,
            f"已享受同类性质补贴每月 {f.same_nature_amount} 元，不低于本补贴 {f.amount} 元，择高享受原补贴。",
        )
    return Verdict("same_nature", True, "无更高的同类性质补贴。")


COMMON: list[Rule] = [
    alive,
    valid_certificate,
    household_in_region,
    not_tekun,
    no_work_injury_care,
    higher_of_same_nature,
]
RULES: dict[str, list[Rule]] = {
    LIVING: [*COMMON, living_income, not_orphan_for_living],
    CARE: [*COMMON, care_grade, not_with_elderly_care],
}


def check(kind: str, facts: Facts, policy: PolicyFacts) -> list[Verdict]:
    return [rule(facts, policy) for rule in RULES[kind]]


def eligible(verdicts: list[Verdict]) -> bool:
    return all(v.ok for v in verdicts)


@dataclass
class Explanation:
    kind: str
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return eligible(self.verdicts)

    def as_json(self) -> list[dict]:
        return [{"rule": v.rule, "ok": v.ok, "message": v.message} for v in self.verdicts]
