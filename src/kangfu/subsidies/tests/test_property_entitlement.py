"""Over any sequence of feed events, confirmations and payrolls, what locked payrolls (legacy payments
included) paid, less what they recovered, equals what each grant was entitled to.

Hypothesis draws a few people (grade, street, and how their grants begin: migrated at go-live with
the months the former system paid, as `golive.kinds.subsidies` records them, or an application
approved in Kangfu and paid from the month of application) and a sequence of steps over six months:
公安 / 法院 / 残联 feeds (a death, a declaration of disappearance, a new certificate of another
grade, each possibly reported months late) that the monthly 数据比对 turns into items, which the
street confirms and the district approves; an officer's changes (a stop back-dated up to three
months, a suspension, a resumption, an appeal against a stop or suspension upheld); every month the
payroll is computed and locked and the bank's answer imported (a payment may fail); a person may
repay a recovery. A seventh payroll, with nothing happening, settles what the last month changed.

The world, the oracle (this suite's own reading of DOMAIN.md) and what counts as paid and as
recovered are in `entitlement_story`. Minimal examples it once failed on are pinned in `FOUND` and
run as their own tests.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kangfu.subsidies.models import Kind
from kangfu.subsidies.tests.entitlement_story import (
    ACTIONS,
    LEGACY_MONTHS,
    MONTHS,
    STREETS,
    Applied,
    Legacy,
    PersonPlan,
    Plan,
    StepPlan,
    World,
    build_world,
    simulate,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db) -> World:
    return build_world()


@st.composite
def person_plans(draw, *, wrong_legacy: bool) -> PersonPlan:
    grade = draw(st.integers(1, 4))
    street = draw(st.integers(0, len(STREETS) - 1))
    if draw(st.booleans()):
        start = draw(st.integers(-LEGACY_MONTHS, -1))
        paid = draw(st.integers(start, -1))
        wrong = None
        if wrong_legacy and draw(st.booleans()):
            wrong = (
                draw(st.integers(start, paid)),
                draw(st.sampled_from([Decimal("10.00"), Decimal("-10.00"), Decimal("140.00")])),
            )
        return PersonPlan(grade, street, Legacy(start, paid, wrong))
    applied = draw(st.integers(-1, MONTHS - 1))
    approved = draw(st.integers(max(applied, 0), min(applied + 2, MONTHS - 1)))
    return PersonPlan(grade, street, Applied(applied, approved))


@st.composite
def step_plans(draw, *, people: int) -> StepPlan:
    return StepPlan(
        month=draw(st.integers(0, MONTHS - 1)),
        person=draw(st.integers(0, people - 1)),
        action=draw(st.sampled_from(ACTIONS)),
        back=draw(st.integers(0, 8)),
        day=draw(st.integers(1, 28)),
        grade=draw(st.integers(1, 4)),
        kind=draw(st.sampled_from([Kind.LIVING, Kind.CARE])),
        half=draw(st.booleans()),
    )


@st.composite
def plans(draw, *, wrong_legacy: bool = False) -> Plan:
    people = tuple(draw(st.lists(person_plans(wrong_legacy=wrong_legacy), min_size=1, max_size=3)))
    steps = draw(st.lists(step_plans(people=len(people)), min_size=4, max_size=24))
    # A step before a person's application was approved would be skipped: it happens at the approval.
    steps = [replace(s, month=max(s.month, getattr(people[s.person].origin, "approved", 0))) for s in steps]
    return Plan(people=people, steps=tuple(sorted(steps, key=lambda s: s.month)))


# Deterministic in CI. No shrinking: on a failure it would run for minutes; the minimal examples it
# found are pinned in FOUND below (add Phase.shrink, and derandomize=False, to hunt for new ones).
PROPERTY = settings(
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(PROPERTY, max_examples=80)
@given(plan=plans())
def test_paid_less_recovered_equals_entitlement(world, plan):
    simulate(world, plan)


# A month the former system paid is settled as it paid it (the go-live import keeps its amount, 按导入保留,
# and says so line by line), unless a later change reaches back into it: a wrong legacy amount is not
# recovered by itself, so the properties draw legacy months paid at the standard.

# Minimal failing examples the property found (shrunk by hand and by hypothesis), each fixed since
# and kept as a regression test.
FOUND = {
    # Died 2 February 2026, reported in February's comparison: stop from March, February owed.
    # The stop marks the grant for recalculation from March, a month after the payroll's: the
    # February payroll pays it neither as a clean grant (recalc_from is set) nor as a recalculated
    # one (no month from March to February), and the lock clears the mark. February is never paid.
    # Any change effective from next month does it: an officer's stop or suspension from next
    # month, a declared disappearance or a downgraded certificate dated this month.
    "a_stop_from_next_month_loses_this_month": Plan(
        people=(PersonPlan(grade=3, street=0, origin=Legacy(start=-1, paid=-1)),),
        steps=(StepPlan(month=1, person=0, action="death", back=0),),
    ),
    # Approved in January, suspended from January (its first month), resumed from February: the
    # suspension finds no period before its month, so grants.grant_suspend invents grade 1 and
    # category 1; the resumption then pays 300 a month for a grade-3 person owed 160. Resumed from
    # January itself, grants.grant_resume fails instead (AttributeError: before is None).
    "a_suspension_from_the_first_month_invents_grade_1": Plan(
        people=(PersonPlan(grade=3, street=0, origin=Applied(applied=0, approved=0)),),
        steps=(
            StepPlan(month=0, person=0, action="suspend", back=0),
            StepPlan(month=1, person=0, action="resume", back=0),
        ),
    ),
    # Suspended in January, then 残联 reports a new certificate of grade 1 (from 3) in February: the
    # comparison raises an item for the suspended grant, and approving it fails, as
    # grants.grant_regrade accepts only an active grant ("该补贴不在发放中").
    "a_new_grade_for_a_suspended_grant_cannot_be_approved": Plan(
        people=(PersonPlan(grade=3, street=0, origin=Legacy(start=-1, paid=-1)),),
        steps=(
            StepPlan(month=0, person=0, action="suspend", back=0),
            StepPlan(month=1, person=0, action="regrade", back=0, grade=1),
        ),
    ),
    # Grade 3 → 1 from January; in February a suspension back-dated to December; resumed from
    # March. The suspension rewrites the periods from December, dropping January's grade 1, and
    # the resumption takes the grade before it: grade 3 (160) is paid for a grade-1 person (300,
    # then 330).
    "a_back_dated_suspension_forgets_a_later_new_grade": Plan(
        people=(PersonPlan(grade=3, street=0, origin=Legacy(start=-2, paid=-1)),),
        steps=(
            StepPlan(month=0, person=0, action="regrade", back=0, grade=1),
            StepPlan(month=1, person=0, action="suspend", back=2),
            StepPlan(month=2, person=0, action="resume", back=0),
        ),
    ),
    # Grade 3 → 1 from January; in February a stop back-dated to January, appealed and upheld:
    # the stop rewrote the periods from January, dropping the grade-1 period, and the appeal
    # (appeals._reinstate) pays again "at the grade it had before" January: grade 3 (160) for a
    # grade-1 person (300, then 330). The same loss as the suspension above, by another path.
    # Stopped from the grant's first month, the appeal falls back to the registry's certificate,
    # which a 残联 grade change approved in the comparison does not update: the old grade again.
    "an_upheld_appeal_against_a_back_dated_stop_forgets_the_new_grade": Plan(
        people=(PersonPlan(grade=3, street=0, origin=Legacy(start=-1, paid=-1)),),
        steps=(
            StepPlan(month=0, person=0, action="regrade", back=0, grade=1),
            StepPlan(month=1, person=0, action="stop", back=1),
            StepPlan(month=1, person=0, action="appeal"),
        ),
    ),
}


@pytest.mark.parametrize("name", list(FOUND))
def test_found_example_pays_what_is_entitled(world, name):
    simulate(world, FOUND[name])
