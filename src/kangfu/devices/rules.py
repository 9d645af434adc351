"""Pricing of a rental: pure functions over plain values, each line explaining itself in Chinese.

Order of the rules on a bill: base rent; the rental subsidy for 困难残疾人 (a share of the rent or an
amount a month, never more than the rent and never more than what is left of the person's yearly
cap); then one discount on what remains, the better of the local-elderly and the injured discount
(they do not stack); then the deposit, waived for subsidised renters where the policy says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kangfu.core.months import add_months_to_day

FEN = Decimal("0.01")
ZERO = Decimal("0.00")

RENT = "rent"
SUBSIDY = "subsidy"
DISCOUNT = "discount"
DEPOSIT = "deposit"
OVERDUE = "overdue"


def money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def yuan(value: Decimal) -> str:
    return f"{money(value):,.2f}"


def percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f}%"


@dataclass(frozen=True)
class Period:
    """Whole months from the start date, then the odd days; both ends count."""

    months: int
    days: int

    @property
    def billed_months(self) -> int:
        return self.months + (1 if self.days else 0)


def period_of(start: dt.date, end: dt.date) -> Period:
    if end < start:
        raise ValueError("end before start")
    months = 0
    while add_months_to_day(start, months + 1) <= end + dt.timedelta(days=1):
        months += 1
    days = (end - add_months_to_day(start, months)).days + 1
    return Period(months=months, days=max(days, 0))


def period_from(start: dt.date, end: dt.date, new_start: dt.date) -> tuple[dt.date, dt.date]:
    """The rental period moved to begin on `new_start`, of the same months and odd days (fewer odd
    days where a shorter month would hold them all), so the bill stays as booked. A centre counts the term from the day the renter has the device: one handed over
    before the reserved start begins that day (and ends as much earlier); one handed over late keeps
    its dates, the delay being the centre's."""
    if new_start >= start:
        return start, end
    period = period_of(start, end)
    new_end = add_months_to_day(new_start, period.months) + dt.timedelta(days=period.days - 1)
    # Odd days that now fill a shorter month would bill one more month: end a day earlier instead.
    while period_of(new_start, new_end).months > period.months:
        new_end -= dt.timedelta(days=1)
    return new_start, new_end


@dataclass(frozen=True)
class Line:
    kind: str
    amount: Decimal
    explanation: str


def base_rent(*, per_day: Decimal, per_month: Decimal, period: Period) -> Line:
    """Whole months at the monthly rent; odd days at the daily rent, never more than a month's."""
    day_part = min(per_day * period.days, per_month) if period.days else ZERO
    amount = money(per_month * period.months + day_part)
    parts = []
    if period.months:
        parts.append(f"{period.months} 个月 × {yuan(per_month)} 元")
    if period.days:
        capped = "（零头天数按一个月封顶）" if per_day * period.days > per_month else ""
        parts.append(f"{period.days} 天 × {yuan(per_day)} 元{capped}")
    return Line(RENT, amount, f"基础租金：{' + '.join(parts) or '0 天'} = {yuan(amount)} 元")


@dataclass(frozen=True)
class Policy:
    subsidy_mode: str = "share"  # "share" or "amount"
    subsidy_share: Decimal = Decimal("0.5")
    subsidy_amount_per_month: Decimal = ZERO
    subsidy_cap_per_year: Decimal = Decimal("3000")
    elderly_age: int = 60
    elderly_discount_share: Decimal = Decimal("0.2")
    injured_discount_share: Decimal = Decimal("0.1")
    waive_deposit_for_subsidised: bool = True
    overdue_fee_multiplier: Decimal = Decimal("1")


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about the renter, established by the service."""

    poor_disabled: bool = False  # valid disability certificate and 低保/低保边缘/特困 now
    age: int = 0
    local: bool = False  # household registered in the centre's city
    injured: bool = False
    subsidy_used_this_year: Decimal = ZERO


@dataclass(frozen=True)
class Subsidy:
    wanted: Decimal
    remaining: Decimal
    granted: Decimal
    explanation: str


def subsidy_for(*, rent: Decimal, period: Period, facts: Facts, policy: Policy) -> Subsidy:
    cap = money(policy.subsidy_cap_per_year)
    remaining = max(ZERO, money(cap - facts.subsidy_used_this_year))
    if not facts.poor_disabled:
        return Subsidy(ZERO, remaining, ZERO, "")
    if policy.subsidy_mode == "amount":
        wanted = money(policy.subsidy_amount_per_month * period.billed_months)
        how = f"{period.billed_months} 个月 × {yuan(policy.subsidy_amount_per_month)} 元"
    else:
        wanted = money(rent * policy.subsidy_share)
        how = f"租金 {yuan(rent)} 元 × {percent(policy.subsidy_share)}"
    wanted = min(wanted, rent)
    granted = min(wanted, remaining)
    text = f"困难残疾人租赁补贴：{how} = {yuan(wanted)} 元"
    if granted < wanted:
        text += f"；本年度上限 {yuan(cap)} 元，已用 {yuan(facts.subsidy_used_this_year)} 元，剩余 {yuan(remaining)} 元，按剩余额度补贴"
    return Subsidy(wanted, remaining, granted, text)


def discount_for(*, rest: Decimal, facts: Facts, policy: Policy) -> Line | None:
    options = []
    if facts.local and facts.age >= policy.elderly_age and policy.elderly_discount_share > 0:
        options.append((policy.elderly_discount_share, f"本地户籍{policy.elderly_age}周岁以上老年人租金优惠"))
    if facts.injured and policy.injured_discount_share > 0:
        options.append((policy.injured_discount_share, "伤病人员租金优惠"))
    if not options or rest <= 0:
        return None
    share, label = max(options, key=lambda o: o[0])
    amount = money(rest * share)
    note = "（多项优惠不叠加，取较高者）" if len(options) > 1 else ""
    return Line(DISCOUNT, -amount, f"{label}：{yuan(rest)} 元 × {percent(share)} = {yuan(amount)} 元{note}")


def price(
    *,
    per_day: Decimal,
    per_month: Decimal,
    deposit: Decimal,
    start: dt.date,
    end: dt.date,
    facts: Facts,
    policy: Policy,
    subsidy_limit: Decimal | None = None,
) -> list[Line]:
    """The bill of a rental from `start` to `end`. `subsidy_limit` lowers the subsidy (a clerk's
    entry); the service refuses a limit above what the rules allow before it gets here."""
    period = period_of(start, end)
    rent = base_rent(per_day=per_day, per_month=per_month, period=period)
    lines = [rent]
    subsidy = subsidy_for(rent=rent.amount, period=period, facts=facts, policy=policy)
    granted = subsidy.granted if subsidy_limit is None else min(subsidy.granted, money(subsidy_limit))
    if granted > 0:
        text = subsidy.explanation
        if granted < subsidy.granted:
            text += f"；经办人核定补贴 {yuan(granted)} 元"
        lines.append(Line(SUBSIDY, -granted, text))
    discount = discount_for(rest=rent.amount - granted, facts=facts, policy=policy)
    if discount is not None:
        lines.append(discount)
    if granted > 0 and policy.waive_deposit_for_subsidised:
        lines.append(Line(DEPOSIT, ZERO, f"押金 {yuan(deposit)} 元：享受困难残疾人补贴，免收"))
    else:
        lines.append(Line(DEPOSIT, money(deposit), f"押金 {yuan(deposit)} 元，归还验收后退还"))
    return lines


def rent_payable(lines: list[Line]) -> Decimal:
    return money(sum((line.amount for line in lines if line.kind != DEPOSIT), ZERO))


def overdue_fee(*, per_day: Decimal, days: int, policy: Policy) -> Line:
    amount = money(per_day * days * policy.overdue_fee_multiplier)
    times = (
        "" if policy.overdue_fee_multiplier == 1 else f" × {policy.overdue_fee_multiplier.normalize():f} 倍"
    )
    return Line(OVERDUE, amount, f"逾期 {days} 天 × 日租金 {yuan(per_day)} 元{times} = {yuan(amount)} 元")
