import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kangfu.devices import rules

D = Decimal
money_values = st.decimals(min_value=D("0"), max_value=D("5000"), places=2)
shares = st.decimals(min_value=D("0"), max_value=D("1"), places=3)
dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))


@st.composite
def scenarios(draw):
    start = draw(dates)
    end = start + dt.timedelta(days=draw(st.integers(min_value=0, max_value=400)))
    policy = rules.Policy(
        subsidy_mode=draw(st.sampled_from(["share", "amount"])),
        subsidy_share=draw(shares),
        subsidy_amount_per_month=draw(money_values),
        subsidy_cap_per_year=draw(money_values),
        elderly_discount_share=draw(shares),
        injured_discount_share=draw(shares),
        waive_deposit_for_subsidised=draw(st.booleans()),
    )
    facts = rules.Facts(
        poor_disabled=draw(st.booleans()),
        age=draw(st.integers(min_value=0, max_value=100)),
        local=draw(st.booleans()),
        injured=draw(st.booleans()),
        subsidy_used_this_year=draw(money_values),
    )
    prices = {"per_day": draw(money_values), "per_month": draw(money_values), "deposit": draw(money_values)}
    return start, end, policy, facts, prices


@given(scenarios())
def test_no_bill_is_ever_negative_and_every_line_is_in_fen(scenario):
    start, end, policy, facts, prices = scenario
    lines = rules.price(**prices, start=start, end=end, facts=facts, policy=policy)
    assert rules.rent_payable(lines) >= 0
    for line in lines:
        assert line.amount == line.amount.quantize(D("0.01"))
        assert line.explanation
    deposit = [line for line in lines if line.kind == rules.DEPOSIT]
    assert len(deposit) == 1 and deposit[0].amount >= 0


@given(scenarios())
def test_the_subsidy_never_exceeds_the_rent_or_what_is_left_of_the_cap(scenario):
    start, end, policy, facts, prices = scenario
    lines = rules.price(**prices, start=start, end=end, facts=facts, policy=policy)
    rent = next(line.amount for line in lines if line.kind == rules.RENT)
    subsidy = -sum((line.amount for line in lines if line.kind == rules.SUBSIDY), D("0"))
    left = max(D("0"), policy.subsidy_cap_per_year - facts.subsidy_used_this_year)
    assert subsidy <= rent
    assert subsidy <= left
    if not facts.poor_disabled:
        assert subsidy == 0


@given(st.lists(money_values, min_size=1, max_size=12), money_values, shares)
def test_a_year_of_rentals_never_gets_more_subsidy_than_the_cap(rents, cap, share):
    policy = rules.Policy(subsidy_share=share, subsidy_cap_per_year=cap)
    used = D("0.00")
    for rent in rents:
        lines = rules.price(
            per_day=rent,
            per_month=rent,
            deposit=D("0"),
            start=dt.date(2026, 1, 1),
            end=dt.date(2026, 1, 31),
            facts=rules.Facts(poor_disabled=True, subsidy_used_this_year=used),
            policy=policy,
        )
        used += -sum((line.amount for line in lines if line.kind == rules.SUBSIDY), D("0"))
    assert used <= cap


def test_whole_months_and_odd_days():
    # A month runs to the day before the same date a month later (the month's last day if shorter).
    assert rules.period_of(dt.date(2026, 1, 31), dt.date(2026, 2, 26)) == rules.Period(0, 27)
    assert rules.period_of(dt.date(2026, 1, 31), dt.date(2026, 2, 27)) == rules.Period(1, 0)
    assert rules.period_of(dt.date(2026, 1, 31), dt.date(2026, 2, 28)) == rules.Period(1, 1)
    assert rules.period_of(dt.date(2026, 3, 10), dt.date(2026, 5, 14)) == rules.Period(2, 5)
    assert rules.period_of(dt.date(2026, 3, 10), dt.date(2026, 3, 10)) == rules.Period(0, 1)


def test_odd_days_never_cost_more_than_a_month():
    line = rules.base_rent(per_day=D("10"), per_month=D("100"), period=rules.Period(1, 20))
    assert line.amount == D("200.00")
    assert "封顶" in line.explanation


def test_the_subsidy_explains_itself_and_the_cap():
    lines = rules.price(
        per_day=D("5"),
        per_month=D("100"),
        deposit=D("300"),
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 3, 31),
        facts=rules.Facts(poor_disabled=True, subsidy_used_this_year=D("2900")),
        policy=rules.Policy(subsidy_share=D("0.5"), subsidy_cap_per_year=D("3000")),
    )
    subsidy = next(line for line in lines if line.kind == rules.SUBSIDY)
    assert subsidy.amount == D("-100.00")
    assert "租金 300.00 元 × 50% = 150.00 元" in subsidy.explanation
    assert "剩余 100.00 元" in subsidy.explanation


def test_a_fixed_monthly_subsidy_counts_started_months():
    lines = rules.price(
        per_day=D("5"),
        per_month=D("100"),
        deposit=D("0"),
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 2, 10),
        facts=rules.Facts(poor_disabled=True),
        policy=rules.Policy(subsidy_mode="amount", subsidy_amount_per_month=D("40")),
    )
    assert next(line.amount for line in lines if line.kind == rules.SUBSIDY) == D("-80.00")


def test_elderly_and_injured_discounts_do_not_stack_and_the_better_one_wins():
    lines = rules.price(
        per_day=D("5"),
        per_month=D("100"),
        deposit=D("300"),
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 1, 31),
        facts=rules.Facts(age=70, local=True, injured=True),
        policy=rules.Policy(elderly_discount_share=D("0.2"), injured_discount_share=D("0.1")),
    )
    discounts = [line for line in lines if line.kind == rules.DISCOUNT]
    assert [d.amount for d in discounts] == [D("-20.00")]
    assert "取较高者" in discounts[0].explanation


def test_a_discount_applies_to_what_the_subsidy_leaves():
    lines = rules.price(
        per_day=D("5"),
        per_month=D("100"),
        deposit=D("300"),
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 1, 31),
        facts=rules.Facts(poor_disabled=True, age=65, local=True),
        policy=rules.Policy(),
    )
    assert rules.rent_payable(lines) == D("40.00")  # 100 − 50 subsidy − 20% of 50


def test_an_elderly_person_from_elsewhere_pays_full_rent():
    lines = rules.price(
        per_day=D("5"),
        per_month=D("100"),
        deposit=D("300"),
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 1, 31),
        facts=rules.Facts(age=75, local=False),
        policy=rules.Policy(),
    )
    assert rules.rent_payable(lines) == D("100.00")


@pytest.mark.parametrize(("waive", "deposit"), [(True, D("0.00")), (False, D("300.00"))])
def test_subsidised_renters_deposit_follows_the_policy(waive, deposit):
    lines = rules.price(
        per_day=D("5"),
        per_month=D("100"),
        deposit=D("300"),
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 1, 31),
        facts=rules.Facts(poor_disabled=True),
        policy=rules.Policy(waive_deposit_for_subsidised=waive),
    )
    assert next(line.amount for line in lines if line.kind == rules.DEPOSIT) == deposit


def test_overdue_fee():
    line = rules.overdue_fee(per_day=D("5"), days=3, policy=rules.Policy(overdue_fee_multiplier=D("1.5")))
    assert line.amount == D("22.50")


@given(
    start=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31)),
    length=st.integers(min_value=0, max_value=365),
    early=st.integers(min_value=1, max_value=60),
)
def test_a_period_moved_to_an_earlier_handover_never_bills_more(start, length, early):
    end = start + dt.timedelta(days=length)
    new_start, new_end = rules.period_from(start, end, start - dt.timedelta(days=early))
    assert new_start == start - dt.timedelta(days=early)
    before, after = rules.period_of(start, end), rules.period_of(new_start, new_end)
    # The same months and odd days; fewer days only where a shorter month would otherwise hold them.
    assert after.months == before.months
    assert after.days == before.days or (after.days < before.days and before.days >= 27)


def test_a_late_handover_keeps_the_reserved_period():
    start, end = dt.date(2026, 11, 23), dt.date(2026, 12, 22)
    assert rules.period_from(start, end, dt.date(2026, 11, 25)) == (start, end)
