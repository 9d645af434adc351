"""A month of 两项补贴 and 精康 records in two districts (河西, 东丽), built straight into the tables
so that each test can count and sum them independently of the exchange's own queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from kangfu.core.models import OrganisationKind
from kangfu.core.tests.factories import OrganisationFactory
from kangfu.people.tests.factories import PersonFactory
from kangfu.rehab.models import Case, CaseStatus
from kangfu.subsidies.models import (
    ChangeAction,
    Grant,
    GrantChange,
    GrantPeriod,
    Kind,
    LineType,
    Payroll,
    PayrollLine,
    PayrollStatus,
    StopReason,
)

MONTH = dt.date(2026, 10, 1)
HEXI = "120103000000"
DAYINGMEN = "120103001000"
DONGLI = "120110000000"
HUAMING = "120110006000"
ACCOUNT = "6222020000001234567"


@dataclass
class World:
    grants: list[Grant] = field(default_factory=list)
    changes: list[GrantChange] = field(default_factory=list)
    lines: list[PayrollLine] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)


def grant(person, *, kind=Kind.LIVING, district=HEXI, street=DAYINGMEN, start=MONTH, category=4, grade=3):
    g = Grant.objects.create(
        person=person,
        kind=kind,
        district_id=district,
        street_id=street,
        start_month=start,
        bank_name="工商银行",
        bank_account=ACCOUNT,
    )
    GrantPeriod.objects.create(grant=g, from_month=start, grade=grade, category=category, reason="审批")
    GrantChange.objects.create(grant=g, action=ChangeAction.START, effective_month=start, reason="审批通过")
    return g


def build(n: int = 3, *, name: str = "") -> World:
    """n people starting this month in 河西 (half of them with both subsidies), one in 东丽; a regrade
    and a stop this month; a locked 河西 payroll with a line per grant; two 精康 cases."""
    world = World()
    hexi = [PersonFactory(name=name or f"河西人{i}", male=i % 2 == 0) for i in range(n)]
    for i, person in enumerate(hexi):
        world.grants.append(grant(person, category=(i % 7) + 1, grade=(i % 4) + 1))
        if i % 2 == 0:
            world.grants.append(grant(person, kind=Kind.CARE, grade=1, category=6))
    dongli = PersonFactory(name="东丽人", community_code="120110006001", county="120110")
    world.grants.append(grant(dongli, district=DONGLI, street=HUAMING))
    old = grant(PersonFactory(name="老资格"), start=dt.date(2025, 1, 1), category=2, grade=2)
    world.changes.append(
        GrantChange.objects.create(
            grant=old, action=ChangeAction.REGRADE, effective_month=MONTH, reason="换证"
        )
    )
    world.changes.append(
        GrantChange.objects.create(
            grant=old,
            action=ChangeAction.STOP,
            stop_reason=StopReason.DEATH,
            effective_month=MONTH,
            reason="死亡",
        )
    )
    payroll = Payroll.objects.create(district_id=HEXI, month=MONTH, status=PayrollStatus.LOCKED)
    for i, g in enumerate(x for x in world.grants if x.district_id == HEXI):
        world.lines.append(
            PayrollLine.objects.create(
                payroll=payroll,
                grant=g,
                person=g.person,
                street_id=g.street_id,
                kind=g.kind,
                month_for=MONTH,
                amount=Decimal("300.00") if g.kind == Kind.LIVING else Decimal("200.55") + i,
                line_type=LineType.REGULAR,
            )
        )
    org = OrganisationFactory(name="河西康复中心", kind=OrganisationKind.REHAB_INSTITUTION, region_id=HEXI)
    for i, status in enumerate((CaseStatus.ACTIVE, CaseStatus.REFERRED)):
        world.cases.append(
            Case.objects.create(
                person=hexi[0] if i == 0 else PersonFactory(name="转介人"),
                institution=org,
                district_id=HEXI,
                status=status,
                referred_on=MONTH + dt.timedelta(days=i),
            )
        )
    return world
