from decimal import Decimal

import pytest

from kangfu.subsidies import rules

OK = rules.Facts(certificate=(4, 2), income_statuses=frozenset({"dibao"}), amount=Decimal("300"))
POLICY = rules.PolicyFacts()


def verdict(kind, facts, policy=POLICY, rule=None):
    found = {v.rule: v for v in rules.check(kind, facts, policy)}
    return found[rule] if rule else found


@pytest.mark.parametrize("kind", [rules.LIVING, rules.CARE])
def test_a_typical_applicant_qualifies_for_both(kind):
    assert rules.eligible(rules.check(kind, OK, POLICY))


@pytest.mark.parametrize(
    ("kind", "rule", "facts", "policy", "ok"),
    [
        ("living", "alive", rules.Facts(alive_and_free=False, vital_label="死亡"), POLICY, False),
        ("living", "certificate", rules.Facts(certificate=None), POLICY, False),
        ("living", "hukou", rules.Facts(hukou_in_region=False), POLICY, False),
        ("living", "income", rules.Facts(certificate=(4, 3), income_statuses=frozenset()), POLICY, False),
        (
            "living",
            "income",
            rules.Facts(certificate=(4, 3), income_statuses=frozenset({"dibao_edge"})),
            POLICY,
            True,
        ),
        (
            "living",
            "income",
            rules.Facts(income_statuses=frozenset({"dibao_edge"})),
            rules.PolicyFacts(living_income_statuses=frozenset({"dibao"})),
            False,
        ),
        ("living", "tekun", rules.Facts(income_statuses=frozenset({"tekun"})), POLICY, False),
        ("care", "tekun", rules.Facts(income_statuses=frozenset({"tekun"})), POLICY, False),
        ("care", "work_injury", rules.Facts(benefits=frozenset({"work_injury_care"})), POLICY, False),
        ("living", "orphan", rules.Facts(benefits=frozenset({"orphan"})), POLICY, False),
        ("care", "grade", rules.Facts(certificate=(4, 3)), POLICY, False),
        (
            "care",
            "grade",
            rules.Facts(certificate=(6, 3)),
            rules.PolicyFacts(care_extra_categories=frozenset({5, 6})),
            True,
        ),
        (
            "care",
            "grade",
            rules.Facts(certificate=(4, 4)),
            rules.PolicyFacts(care_extra_categories=frozenset({5, 6})),
            False,
        ),
        ("care", "grade", rules.Facts(certificate=(1, 1)), POLICY, True),
        # 择高: an allowance of unknown amount, or a higher one, is paid instead; a lower one is not
        ("care", "elderly_care", rules.Facts(benefits=frozenset({"elderly_care"})), POLICY, False),
        (
            "care",
            "elderly_care",
            rules.Facts(
                benefits=frozenset({"elderly_care"}),
                elderly_care_amount=Decimal("300"),
                amount=Decimal("200"),
            ),
            POLICY,
            False,
        ),
        (
            "care",
            "elderly_care",
            rules.Facts(
                benefits=frozenset({"elderly_care"}),
                elderly_care_amount=Decimal("150"),
                amount=Decimal("200"),
            ),
            POLICY,
            True,
        ),
        (
            "care",
            "same_nature",
            rules.Facts(
                benefits=frozenset({"same_nature"}), same_nature_amount=Decimal("250"), amount=Decimal("200")
            ),
            POLICY,
            False,
        ),
        (
            "care",
            "same_nature",
            rules.Facts(
                benefits=frozenset({"same_nature"}), same_nature_amount=Decimal("150"), amount=Decimal("200")
            ),
            POLICY,
            True,
        ),
    ],
)
def test_each_rule_says_yes_or_no_with_a_reason(kind, rule, facts, policy, ok):
    found = verdict(kind, facts, policy, rule)
    assert found.ok is ok
    assert found.message


def test_orphans_keep_the_care_subsidy():
    facts = rules.Facts(certificate=(5, 1), benefits=frozenset({"orphan"}))
    assert rules.eligible(rules.check(rules.CARE, facts, POLICY))
    assert not rules.eligible(rules.check(rules.LIVING, facts, POLICY))


def test_months():
    import datetime as dt

    assert rules.add_months(dt.date(2026, 11, 1), 2) == dt.date(2027, 1, 1)
    assert rules.add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    assert rules.month_start(dt.date(2026, 2, 28)) == dt.date(2026, 2, 1)
