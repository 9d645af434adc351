"""Importing a rental centre's units and its rentals in progress."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from kangfu.core.models import AuditEntry, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.devices.models import (
    Charge,
    ChargeKind,
    Disinfection,
    Rental,
    RentalStatus,
    Unit,
    UnitEvent,
    UnitStatus,
)
from kangfu.devices.tests.factories import (
    WENHUAXIANG,
    CentreFactory,
    OutletFactory,
    ProductFactory,
    UnitFactory,
)
from kangfu.golive.kinds import CHANGED, NEW, UNCHANGED
from kangfu.golive.kinds.devices import NOT_YOUR_OUTLET, NOT_YOUR_UNIT, SERIAL_ELSEWHERE, UNIT_BUSY
from kangfu.golive.models import JobStatus
from kangfu.golive.tests.helpers import check, csv_bytes, lines_with_errors, run
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory

pytestmark = pytest.mark.django_db

WUQING = "120114000000"
UNITS = ["设备编号", "产品名称", "所在网点", "设备状态", "末次消毒日期"]
RENTALS = ["设备编号", "承租人身份证号", "承租人姓名", "起租日期", "到期日期", "月租金", "押金"]


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def centre(db):
    return CentreFactory()


@pytest.fixture
def outlet(centre):
    return OutletFactory(parent=centre, name="下朱庄街道辅具租赁网点")


@pytest.fixture
def clerk(centre):
    return UserFactory(username="clerk", role=Role.DEVICE_CLERK, organisation=centre, jurisdiction_id=WUQING)


@pytest.fixture
def wheelchair(centre):
    return ProductFactory(centre=centre, name="轻便折叠轮椅")


@pytest.fixture
def theirs(db):
    """A unit of another district's centre, whose products are named as ours are."""
    other = CentreFactory(name="河东区康复辅助器具租赁服务中心", region_id="120102001000")
    OutletFactory(parent=other, name="河东区大王庄网点", region_id="120102002000")
    return UnitFactory(product=ProductFactory(centre=other, name="轻便折叠轮椅"), serial="HD-001")


@pytest.fixture
def renter(db):
    return PersonFactory(name="王租户", community_code=WENHUAXIANG, born=dt.date(1981, 5, 5), county="120114")


def _units(clerk, outlet, *rows, **options):
    return run("device_units", csv_bytes([UNITS, *rows]), actor=clerk, **options)


def _stock(clerk, outlet, *serials: str) -> None:
    job = _units(clerk, outlet, *([s, "轻便折叠轮椅", outlet.name, "在库", ""] for s in serials))
    assert job.status == JobStatus.DONE, job.message


def _rental(serial, person, **over) -> list[object]:
    row = {
        "serial": serial,
        "id": person.id_number,
        "name": person.name,
        "start": "2026-10-01",
        "end": "2027-03-31",
        "rent": "100",
        "deposit": "300",
    }
    row.update(over)
    return list(row.values())


# ---------------------------------------------------------------- units


def test_a_units_file_puts_the_centres_units_into_stock(clerk, outlet, wheelchair):
    job = _units(
        clerk,
        outlet,
        ["WQ-001", "轻便折叠轮椅", outlet.name, "在库", "2026-11-02"],
        ["WQ-002", "轻便折叠轮椅", outlet.name, "维修中", ""],
    )
    assert job.status == JobStatus.DONE, job.message
    assert job.counts == {NEW: 2, CHANGED: 0, UNCHANGED: 0}
    units = {u.serial: u for u in Unit.objects.all()}
    assert (units["WQ-001"].product, units["WQ-001"].outlet, units["WQ-001"].status) == (
        wheelchair,
        outlet,
        UnitStatus.AVAILABLE,
    )
    assert units["WQ-002"].status == UnitStatus.REPAIR
    # The date is history, not a disinfection record: the steps and the operator are not known.
    assert UnitEvent.objects.filter(unit=units["WQ-001"], note__contains="2026-11-02").exists()
    assert not Disinfection.objects.exists()
    assert AuditEntry.objects.filter(object_type="devices.unit", actor=clerk).count() == 2


def test_the_same_units_file_twice_changes_nothing(clerk, outlet, wheelchair):
    rows = [["WQ-001", "轻便折叠轮椅", outlet.name, "在库", "2026-11-02"]]
    _units(clerk, outlet, *rows)
    events, entries = UnitEvent.objects.count(), AuditEntry.objects.filter(object_type="devices.unit").count()
    job = _units(clerk, outlet, *rows)
    assert job.counts == {NEW: 0, CHANGED: 0, UNCHANGED: 1}
    assert UnitEvent.objects.count() == events
    assert AuditEntry.objects.filter(object_type="devices.unit").count() == entries


def test_a_changed_state_updates_the_unit_with_its_history_and_an_audit_row(clerk, outlet, wheelchair):
    _stock(clerk, outlet, "WQ-001")
    job = _units(clerk, outlet, ["WQ-001", "轻便折叠轮椅", outlet.name, "消毒中", ""])
    assert job.counts == {NEW: 0, CHANGED: 1, UNCHANGED: 0}
    unit = Unit.objects.get(serial="WQ-001")
    assert unit.status == UnitStatus.CLEANING
    assert UnitEvent.objects.filter(unit=unit, from_status="available", to_status="cleaning").exists()
    entry = AuditEntry.objects.get(object_type="devices.unit", summary="导入更新设备 WQ-001")
    assert entry.changes == {"status": ["available", "cleaning"]}


def test_unknown_product_and_outlet_lines_are_reported_by_line(clerk, outlet, wheelchair):
    job = check(
        "device_units",
        csv_bytes(
            [
                UNITS,
                ["WQ-001", "轻便折叠轮椅", outlet.name, "在库", ""],
                ["WQ-002", "电动护理床", outlet.name, "在库", ""],
                ["WQ-003", "轻便折叠轮椅", "不存在的网点", "在库", ""],
                ["WQ-004", "轻便折叠轮椅", outlet.name, "已预订", ""],
            ]
        ),
        actor=clerk,
    )
    errors = lines_with_errors(job)
    assert set(errors) == {3, 4, 5}
    assert "电动护理床" in errors[3]
    assert "不存在的网点" in errors[4]
    assert "已预订" in errors[5]
    assert job.counts[NEW] == 1


def test_a_clerk_cannot_import_units_into_another_centre(clerk, outlet, wheelchair, theirs):
    job = check(
        "device_units",
        csv_bytes(
            [
                UNITS,
                ["WQ-001", "轻便折叠轮椅", "河东区大王庄网点", "在库", ""],
                ["HD-001", "轻便折叠轮椅", outlet.name, "在库", ""],
            ]
        ),
        actor=clerk,
    )
    errors = lines_with_errors(job)
    assert errors[2] == NOT_YOUR_OUTLET.format(value="河东区大王庄网点")
    assert errors[3] == SERIAL_ELSEWHERE.format(value="HD-001")
    theirs.refresh_from_db()
    assert theirs.outlet_id == theirs.product.centre_id


def test_a_district_administrator_does_not_import_devices(outlet, wheelchair):
    admin = UserFactory(username="wuqing.admin", role=Role.DISTRICT_ADMIN, jurisdiction_id=WUQING)
    with pytest.raises(PermissionDenied):
        check(
            "device_units",
            csv_bytes([UNITS, ["WQ-001", "轻便折叠轮椅", outlet.name, "在库", ""]]),
            actor=admin,
        )


# ---------------------------------------------------------------- rentals


def test_a_rentals_file_rents_the_units_and_bills_them_by_the_rules(clerk, outlet, wheelchair, renter):
    _stock(clerk, outlet, "WQ-001")
    job = run("device_rentals", csv_bytes([RENTALS, _rental("WQ-001", renter, rent="120")]), actor=clerk)
    assert job.status == JobStatus.DONE, job.message
    assert job.counts == {NEW: 1, CHANGED: 0, UNCHANGED: 0}
    rental = Rental.objects.get()
    assert (rental.person, rental.status, rental.start_date, rental.end_date) == (
        renter,
        RentalStatus.ACTIVE,
        dt.date(2026, 10, 1),
        dt.date(2027, 3, 31),
    )
    assert rental.number.startswith("ZL2026")
    assert Unit.objects.get(serial="WQ-001").status == UnitStatus.RENTED
    charges = {c.kind: c.amount for c in Charge.objects.filter(rental=rental)}
    # Six months at the product's 100 元 (not the file's 120), and the deposit the centre holds.
    assert charges == {ChargeKind.RENT: Decimal("600.00"), ChargeKind.DEPOSIT: Decimal("300.00")}
    assert "120.00" in job.flags[0]["message"]
    assert AuditEntry.objects.filter(object_type="devices.rental", person_id=renter.pk).exists()


def test_a_poor_disabled_renter_is_subsidised_by_the_centres_rules(clerk, outlet, wheelchair):
    person = PersonFactory(
        name="李困难", community_code=WENHUAXIANG, born=dt.date(1975, 3, 3), county="120114"
    )
    CertificateFactory(
        person=person, digits="42", issued_on=dt.date(2022, 1, 1), expires_on=dt.date(2032, 1, 1)
    )
    IncomePeriodFactory(person=person, start_date=dt.date(2020, 1, 1))
    _stock(clerk, outlet, "WQ-001")
    run("device_rentals", csv_bytes([RENTALS, _rental("WQ-001", person, deposit="")]), actor=clerk)
    charges = {c.kind: c.amount for c in Charge.objects.all()}
    assert charges[ChargeKind.SUBSIDY] == Decimal("-300.00")
    assert charges[ChargeKind.DEPOSIT] == Decimal("0.00")  # waived for subsidised renters


def test_the_same_rentals_file_twice_changes_nothing(clerk, outlet, wheelchair, renter):
    _stock(clerk, outlet, "WQ-001")
    content = csv_bytes([RENTALS, _rental("WQ-001", renter)])
    run("device_rentals", content, actor=clerk)
    charges = Charge.objects.count()
    job = run("device_rentals", content, actor=clerk)
    assert job.counts == {NEW: 0, CHANGED: 0, UNCHANGED: 1}
    assert Rental.objects.count() == 1
    assert Charge.objects.count() == charges


def test_a_later_due_date_extends_the_rental_and_reprices_it(clerk, outlet, wheelchair, renter):
    _stock(clerk, outlet, "WQ-001")
    run("device_rentals", csv_bytes([RENTALS, _rental("WQ-001", renter)]), actor=clerk)
    job = run(
        "device_rentals", csv_bytes([RENTALS, _rental("WQ-001", renter, end="2027-04-30")]), actor=clerk
    )
    assert job.counts[CHANGED] == 1
    rental = Rental.objects.get()
    assert rental.end_date == dt.date(2027, 4, 30)
    rent = sum(c.amount for c in Charge.objects.filter(rental=rental, kind=ChargeKind.RENT))
    assert rent == Decimal("700.00")
    assert AuditEntry.objects.filter(object_type="devices.rental", changes__end_date__isnull=False).exists()


def test_a_unit_cannot_be_in_two_rentals(clerk, outlet, wheelchair, renter):
    other = PersonFactory(name="赵另一", community_code=WENHUAXIANG, county="120114")
    _stock(clerk, outlet, "WQ-001", "WQ-002")
    run("device_rentals", csv_bytes([RENTALS, _rental("WQ-001", renter)]), actor=clerk)
    job = check(
        "device_rentals",
        csv_bytes([RENTALS, _rental("WQ-001", other), _rental("WQ-002", renter), _rental("WQ-002", other)]),
        actor=clerk,
    )
    errors = lines_with_errors(job)
    assert errors[2] == UNIT_BUSY.format(value="WQ-001")
    assert renter.name not in errors[2]
    assert "第 3 行" in errors[4]
    assert job.counts[NEW] == 1


def test_an_unknown_serial_is_reported_by_line(clerk, outlet, wheelchair, renter):
    job = check("device_rentals", csv_bytes([RENTALS, _rental("NO-SUCH", renter)]), actor=clerk)
    assert "NO-SUCH" in lines_with_errors(job)[2]


def test_a_unit_under_repair_cannot_be_imported_as_rented(clerk, outlet, wheelchair, renter):
    _units(clerk, outlet, ["WQ-001", "轻便折叠轮椅", outlet.name, "维修中", ""])
    job = check("device_rentals", csv_bytes([RENTALS, _rental("WQ-001", renter)]), actor=clerk)
    assert "维修中" in lines_with_errors(job)[2]


def test_a_clerk_cannot_import_rentals_of_another_centres_units(clerk, outlet, wheelchair, renter, theirs):
    job = check("device_rentals", csv_bytes([RENTALS, _rental("HD-001", renter)]), actor=clerk)
    assert lines_with_errors(job)[2] == NOT_YOUR_UNIT.format(value="HD-001")
    assert not Rental.objects.exists()


def test_a_unit_listed_as_rented_waits_for_its_rental_line(clerk, outlet, wheelchair, renter):
    job = _units(clerk, outlet, ["WQ-001", "轻便折叠轮椅", outlet.name, "已出租", ""])
    assert "device_rentals" in job.flags[0]["message"]
    job = run("device_rentals", csv_bytes([RENTALS, _rental("WQ-001", renter)]), actor=clerk)
    assert job.counts[NEW] == 1
    assert Rental.objects.get().unit.status == UnitStatus.RENTED


def test_checking_costs_the_same_queries_for_three_lines_or_thirty(clerk, outlet, wheelchair):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _stock(clerk, outlet, *(f"WQ-{n:03d}" for n in range(40)))

    def queries(kind: str, rows: list[list[object]]) -> int:
        header = UNITS if kind == "device_units" else RENTALS
        with CaptureQueriesContext(connection) as captured:
            check(kind, csv_bytes([header, *rows]), actor=clerk)
        return len(captured)

    def units(serials):
        return [[s, "轻便折叠轮椅", outlet.name, "维修中", "2026-11-01"] for s in serials]

    def rentals(serials):
        return [
            _rental(s, PersonFactory(community_code=WENHUAXIANG, county="120114"), rent="90") for s in serials
        ]

    queries("device_units", units(["NEW-0"]))  # the first job reads what any first job reads
    assert queries("device_units", units(["WQ-000", "WQ-001", "NEW-1"])) == queries(
        "device_units", units([f"WQ-{n:03d}" for n in range(2, 30)] + ["NEW-2", "NEW-3"])
    )
    queries("device_rentals", rentals(["WQ-039"]))
    assert queries("device_rentals", rentals(["WQ-000", "WQ-001", "WQ-002"])) == queries(
        "device_rentals", rentals([f"WQ-{n:03d}" for n in range(3, 33)])
    )
