"""A small world whose every record the reports count: 两项补贴 in 河西 (and a little in 东丽, which
河西's figures must leave out), 精康 in 西青, rentals in 武清; each with the edges a measure must get
right (a draft payroll, another month's lines, a suspension, a family member, a cancelled rental)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from kangfu.core.models import OrganisationKind, Role
from kangfu.core.tests.factories import OrganisationFactory, UserFactory
from kangfu.devices.models import Charge, ChargeKind, Disinfection, DisinfectionMethod, Rental, RentalStatus
from kangfu.devices.tests.factories import OutletFactory, UnitFactory
from kangfu.people.models import IncomeStatus
from kangfu.people.tests.factories import (
    FUJIANLU,
    HUAMING_COMMUNITY,
    JIUJIANGLU,
    CertificateFactory,
    IncomePeriodFactory,
    PersonFactory,
)
from kangfu.rehab.models import (
    Activity,
    ActivityForm,
    Attendance,
    Case,
    CaseStatus,
    ContactMode,
    FollowUp,
    RegisteredPerson,
    ServiceType,
    StaffMember,
    Training,
)
from kangfu.rehab.services.counters import recount
from kangfu.subsidies.models import (
    Application,
    ChangeAction,
    Document,
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
from kangfu.subsidies.seed import seed_tianjin

TIANJIN = "120100000000"
HEXI = "120103000000"
DONGLI = "120110000000"
XIQING = "120111000000"
BEICHEN = "120113000000"
WUQING = "120114000000"
DAYINGMEN = "120103001000"
XIAWAFANG = "120103002000"
HUAMING = "120110006000"
XIQING_COMMUNITY = "120111001001"

NOV = dt.date(2026, 11, 1)
OCT = dt.date(2026, 10, 1)
Q3 = dt.date(2026, 7, 1)
# The report day: early December 2026, Tianjin time.
TODAY = dt.datetime(2026, 12, 3, 2, tzinfo=dt.UTC)


def admin(username: str, district: str, role: str = Role.DISTRICT_ADMIN):
    org = OrganisationFactory(
        name=f"{username}民政局", kind=OrganisationKind.CIVIL_AFFAIRS, region_id=district
    )
    return UserFactory(
        username=username, role=role, organisation=org, jurisdiction_id=district, full_name=username
    )


def _eligible(community: str, digits: str = "42", income: str | None = IncomeStatus.DIBAO):
    person = PersonFactory(community_code=community, county=community[:6])
    CertificateFactory(person=person, digits=digits)
    if income:
        IncomePeriodFactory(person=person, status=income)
    return person


def _grant(person, kind, street, *, start=dt.date(2026, 1, 1), end=None, paid=True, application=None):
    grant = Grant.objects.create(
        person=person,
        kind=kind,
        district_id=street[:6] + "000000",
        street_id=street,
        start_month=start,
        end_month=end,
        bank_name="工商银行",
        bank_account="6222020000001234567",
        application=application,
    )
    GrantPeriod.objects.create(
        grant=grant, from_month=start, to_month=end, grade=2, category=4, paid=True, reason="批准"
    )
    if not paid:
        GrantPeriod.objects.filter(grant=grant).update(to_month=dt.date(2026, 10, 1))
        GrantPeriod.objects.create(
            grant=grant, from_month=NOV, grade=2, category=4, paid=False, reason="暂停"
        )
    GrantChange.objects.create(grant=grant, action=ChangeAction.START, effective_month=start, reason="批准")
    return grant


def _line(payroll, grant, amount, *, line_type=LineType.REGULAR, month_for=None):
    return PayrollLine.objects.create(
        payroll=payroll,
        grant=grant,
        person=grant.person,
        street_id=grant.street_id,
        kind=grant.kind,
        month_for=month_for or payroll.month,
        amount=Decimal(amount),
        line_type=line_type,
    )


def subsidies_world() -> dict:
    seed_tianjin()
    a, b = _eligible(JIUJIANGLU), _eligible(JIUJIANGLU)
    c = _eligible(FUJIANLU, digits="41")
    d = PersonFactory(community_code=FUJIANLU)  # eligible for nothing: no certificate, no 低保
    e = _eligible(HUAMING_COMMUNITY)
    _eligible(FUJIANLU)  # eligible, receives nothing: in 应享, not in 已享
    application = Application.objects.create(
        number="SB2026110001",
        person=b,
        living=True,
        channel="counter",
        phone="13900000000",
        bank_name="工商银行",
        bank_account="6222020000001234567",
        community_id=JIUJIANGLU,
        street_id=DAYINGMEN,
        district_id=HEXI,
        applied_on=dt.date(2026, 11, 2),
        status="approved",
    )
    Document.objects.create(application=application, file="subsidies/x.pdf", label="残疾人证")
    Document.objects.filter(application=application).update(
        uploaded_at=timezone.make_aware(dt.datetime(2026, 11, 10, 9))
    )
    g1 = _grant(a, Kind.LIVING, DAYINGMEN)
    g2 = _grant(a, Kind.CARE, DAYINGMEN)
    g3 = _grant(b, Kind.LIVING, DAYINGMEN, start=NOV, application=application)
    _grant(c, Kind.CARE, XIAWAFANG)  # payable, held: no line
    g5 = _grant(d, Kind.LIVING, XIAWAFANG, end=OCT)
    GrantChange.objects.create(
        grant=g5, action=ChangeAction.STOP, effective_month=NOV, reason="死亡", stop_reason=StopReason.DEATH
    )
    _grant(c, Kind.LIVING, XIAWAFANG, paid=False)  # suspended in November
    g7 = _grant(e, Kind.LIVING, HUAMING)
    hexi_nov = Payroll.objects.create(district_id=HEXI, month=NOV, status=PayrollStatus.LOCKED)
    hexi_oct = Payroll.objects.create(district_id=HEXI, month=OCT, status=PayrollStatus.LOCKED)
    dongli_nov = Payroll.objects.create(district_id=DONGLI, month=NOV, status=PayrollStatus.LOCKED)
    dongli_dec = Payroll.objects.create(
        district_id=DONGLI, month=dt.date(2026, 12, 1), status=PayrollStatus.DRAFT
    )
    _line(hexi_nov, g1, "300.00")
    _line(hexi_nov, g2, "200.00")
    _line(hexi_nov, g2, "200.00", line_type=LineType.ARREARS, month_for=OCT)
    _line(hexi_nov, g3, "300.00")
    _line(hexi_nov, g5, "-300.00", line_type=LineType.RECOVERY, month_for=OCT)
    _line(hexi_oct, g1, "300.00")
    _line(hexi_oct, g5, "300.00")
    _line(dongli_nov, g7, "300.00")
    _line(dongli_dec, g7, "300.00")
    return {"people": [a, b, c, d, e]}


def rehab_world() -> dict:
    centre = OrganisationFactory(
        name="西青康复中心", kind=OrganisationKind.REHAB_INSTITUTION, region_id=XIQING
    )
    other = OrganisationFactory(
        name="北辰康复中心", kind=OrganisationKind.REHAB_INSTITUTION, region_id=BEICHEN
    )
    people = [PersonFactory(community_code=XIQING_COMMUNITY, county="120111") for _ in range(5)]
    for i, person in enumerate(people[:4]):
        RegisteredPerson.objects.create(
            person=person, district_id=XIQING, source="health_list", listed_on=dt.date(2026, 6 + i, 1)
        )

    def case(person, org, district, status=CaseStatus.ACTIVE):
        return Case.objects.create(
            person=person,
            institution=org,
            district_id=district,
            status=status,
            referred_on=dt.date(2026, 1, 5),
        )

    cases = [case(p, centre, XIQING) for p in people]
    elsewhere = case(PersonFactory(community_code=XIQING_COMMUNITY), other, BEICHEN)

    def activity(org, district, service_type, held_on, attendees, family=0):
        act = Activity.objects.create(
            institution=org,
            district_id=district,
            form=ActivityForm.GROUP,
            service_type=service_type,
            mode=ContactMode.SITE,
            title="活动",
            held_on=held_on,
            patients=len(attendees),
            family=family,
        )
        for c in attendees:
            Attendance.objects.create(activity=act, case=c)
        for c in attendees[:family]:
            Attendance.objects.create(activity=act, case=c, is_family=True, family_name="家属")
        return act

    activity(centre, XIQING, ServiceType.MEDICATION, dt.date(2026, 7, 3), cases[:2], family=1)
    activity(centre, XIQING, ServiceType.SOCIAL, dt.date(2026, 9, 30), cases[1:3])
    activity(centre, XIQING, ServiceType.SOCIAL, dt.date(2026, 10, 1), cases[3:4])  # next quarter
    activity(other, BEICHEN, ServiceType.PEER, dt.date(2026, 8, 8), [elsewhere])
    # Only as a family member: not served.
    act = activity(centre, XIQING, ServiceType.FAMILY, dt.date(2026, 8, 1), [])
    Attendance.objects.create(activity=act, case=cases[4], is_family=True, family_name="家属")
    Activity.objects.filter(pk=act.pk).update(family=1)
    FollowUp.objects.create(
        case=cases[3],
        district_id=XIQING,
        due_on=dt.date(2026, 8, 1),
        done_on=dt.date(2026, 8, 20),
        mode=ContactMode.PHONE,
        stability="stable",
        risk_level=0,
        adherence="regular",
        insight="full",
        next_on=dt.date(2026, 11, 20),
    )
    # Direct-service staff: trained (22 hours), short of 20 (8, and 6 more after the quarter), left
    # before the quarter ended, joined after it, not direct service, a peer supporter trained the 12
    # hours a peer must, and 北辰's.
    staff = [
        StaffMember.objects.create(organisation=centre, name=name, profession="social_worker", **extra)
        for name, extra in [
            ("达标", {}),
            ("不足", {"joined_on": dt.date(2025, 3, 1)}),
            ("离职", {"left_on": dt.date(2026, 6, 30)}),
            ("新入职", {"joined_on": dt.date(2026, 10, 1)}),
            ("行政", {"direct_service": False}),
        ]
    ]
    peer = StaffMember.objects.create(organisation=centre, name="同伴", profession="peer")
    StaffMember.objects.create(organisation=other, name="北辰", profession="social_worker")
    for member, day, hours in [
        (staff[0], dt.date(2026, 3, 1), "12"),
        (staff[0], dt.date(2026, 9, 30), "10"),
        (staff[0], dt.date(2025, 12, 1), "30"),
        (staff[1], dt.date(2026, 5, 1), "8"),
        (staff[1], dt.date(2026, 10, 2), "16"),
        (staff[2], dt.date(2026, 5, 1), "40"),
        (peer, dt.date(2026, 8, 1), "12"),
    ]:
        Training.objects.create(staff=member, held_on=day, hours=Decimal(hours), topic="精康服务规范")
    recount()
    return {"cases": cases}


def devices_world() -> dict:
    outlet = OutletFactory(name="杨村网点", region_id="120114001000")
    unit1, unit2, unit3 = (UnitFactory(outlet=outlet) for _ in range(3))
    renter, renter2 = (
        PersonFactory(community_code="120114001007", county="120114"),
        PersonFactory(community_code="120114001007", county="120114"),
    )

    def rental(unit, person, start, end, status, returned_on=None):
        return Rental.objects.create(
            person=person,
            product=unit.product,
            unit=unit,
            outlet=outlet,
            centre=outlet.parent,
            start_date=start,
            end_date=end,
            status=status,
            returned_on=returned_on,
        )

    r1 = rental(unit1, renter, dt.date(2026, 11, 5), dt.date(2026, 11, 20), RentalStatus.ACTIVE)  # overdue
    r2 = rental(
        unit2,
        renter,
        dt.date(2026, 10, 5),
        dt.date(2026, 12, 5),
        RentalStatus.RETURNED,
        dt.date(2026, 11, 15),
    )
    rental(unit3, renter2, dt.date(2026, 11, 9), dt.date(2026, 12, 9), RentalStatus.CANCELLED)
    r4 = rental(unit3, renter2, dt.date(2026, 11, 10), dt.date(2026, 12, 10), RentalStatus.ACTIVE)
    for r, kind, amount in [
        (r1, ChargeKind.RENT, "100.00"),
        (r1, ChargeKind.SUBSIDY, "-50.00"),
        (r4, ChargeKind.RENT, "80.00"),
        (r4, ChargeKind.DISCOUNT, "-8.00"),
        (r4, ChargeKind.DEPOSIT, "300.00"),
        (r2, ChargeKind.RENT, "60.00"),
    ]:
        Charge.objects.create(rental=r, kind=kind, amount=Decimal(amount), explanation="测试")
    operator = UserFactory(username="fuju", role=Role.DEVICE_CLERK, jurisdiction_id=WUQING)
    for finished, passed in [(dt.datetime(2026, 11, 16, 9), True), (dt.datetime(2026, 11, 17, 9), False)]:
        Disinfection.objects.create(
            unit=unit2,
            rental=r2,
            method=DisinfectionMethod.values[0],
            agent="含氯",
            started_at=timezone.make_aware(finished - dt.timedelta(hours=1)),
            finished_at=timezone.make_aware(finished),
            operator=operator,
            passed=passed,
        )
    return {}
