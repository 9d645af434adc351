"""On PostgreSQL the payroll lines and the audit trail are partitioned by month and the comparison
items by district; a pass (the worker's, or `kangfu partitions`) keeps partitions ready and gives
whatever landed in DEFAULT a partition of its own. SQLite keeps plain tables."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from kangfu.core import audit, dbroles, partitions
from kangfu.core.models import AuditAction, AuditEntry, Region, RegionLevel
from kangfu.matching.tests import conftest as matching
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.models import PayrollLine
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import grants, payroll

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="declarative partitioning is PostgreSQL's; SQLite keeps plain tables",
)
pytestmark = pytest.mark.django_db

M = dt.date
NOVEMBER = M(2026, 11, 1)
LINES, AUDIT, ITEMS = "subsidies_payrollline", "core_auditentry", "matching_item"
APP = "kangfu_app_partitions_test"
HEXI = matching.HEXI
# A 护理补贴 recipient paid for September and October 2026, then a comparison run raising an item.
death_item = matching.death_item


def travel(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC), tick=False)


def where(table: str, **match) -> dict[int, str]:
    """id → the partition that holds the row."""
    condition = " AND ".join(f"{column} = %s" for column in match) or "TRUE"
    with connection.cursor() as cursor:
        sql = f"SELECT id, tableoid::regclass::text FROM {table} WHERE {condition}"  # noqa: S608
        cursor.execute(sql, list(match.values()))
        return dict(cursor.fetchall())


def settle() -> None:
    """Run the deferred foreign-key checks now. A test is one transaction, so the rows it wrote still
    have checks pending, and PostgreSQL will not detach a partition holding them; the worker's pass
    runs in a transaction of its own, after the writes have committed."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.fixture
def recipient(db):
    """A 护理补贴 recipient of 河西 paid from November 2026."""
    seed_tianjin()
    person = PersonFactory(name="孙分区", community_code="120103001001")
    CertificateFactory(person=person, digits="41")
    IncomePeriodFactory(person=person)
    grants.grant_migrate(
        actor=None,
        person=person,
        kind="care",
        district=HEXI,
        street=person.street_id,
        start_month=NOVEMBER,
        grade=1,
        category=4,
        bank_name="银行",
        bank_account="6222020000001234567",
    )
    return person


@on_postgresql
def test_the_lines_the_trail_and_the_items_are_partitioned_tables():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, p.partstrat FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
            " WHERE c.relname IN (%s, %s, %s) ORDER BY 1",
            [LINES, AUDIT, ITEMS],
        )
        assert cursor.fetchall() == [(AUDIT, "r"), (ITEMS, "l"), (LINES, "r")]
        assert [spec.table for spec in partitions.partitioned_tables(cursor)] == [AUDIT, ITEMS, LINES]


@on_postgresql
def test_a_payroll_run_writes_its_lines_into_the_months_partition(recipient):
    partitions.ensure(today=M(2026, 11, 20))
    with travel(M(2026, 11, 20)):
        run = payroll.payroll_run(actor=None, district=Region.objects.get(code=HEXI), month=NOVEMBER)

    held = where(LINES, payroll_id=run.pk)
    assert len(held) == run.line_count >= 1
    # … within it, the payroll's own table (subsidies.migrations.0019)
    assert set(held.values()) == {f"subsidies_payrollline_p202611_r{run.pk}"}


@on_postgresql
def test_a_line_for_a_month_without_a_partition_waits_in_default_until_the_pass_gives_it_one(death_item):
    september = PayrollLine.objects.get(month_for=M(2026, 9, 1))
    assert where(LINES, id=september.pk) == {september.pk: "subsidies_payrollline_default"}
    settle()

    made = partitions.ensure(today=M(2026, 11, 3))

    assert ("subsidies_payrollline_p202609", 1) in {(m.partition, m.moved) for m in made}
    # … in its month's partition, in the part that holds lines outside a payroll's own table
    assert where(LINES, id=september.pk) == {september.pk: "subsidies_payrollline_p202609_default"}
    assert PayrollLine.objects.get(pk=september.pk).amount == september.amount
    assert "subsidies_payrollline_default" not in where(LINES).values()


@on_postgresql
def test_an_audit_row_of_a_month_without_a_partition_is_moved_out_of_default_and_stays_unchangeable():
    with travel(M(2020, 3, 5)):
        entry = audit.record(actor=None, action=AuditAction.VIEW, summary="old")
    assert where(AUDIT, id=entry.pk) == {entry.pk: "core_auditentry_default"}

    partitions.ensure(today=M(2026, 11, 3))

    assert where(AUDIT, id=entry.pk) == {entry.pk: "core_auditentry_p202003"}
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE core_auditentry SET summary = 'forged' WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).summary == "old"


@on_postgresql
def test_the_audit_trail_refuses_updates_and_deletes_in_every_partition():
    entry = audit.record(actor=None, action=AuditAction.VIEW, summary="kept")
    (partition,) = where(AUDIT, id=entry.pk).values()
    # The partition's name comes from the catalog.
    for statement in (f"UPDATE {partition} SET summary = 'forged'", f"DELETE FROM {partition}"):  # noqa: S608
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AuditEntry.objects.get(pk=entry.pk).summary == "kept"


@on_postgresql
def test_a_comparison_runs_items_land_in_their_districts_partition(death_item):
    assert where(ITEMS, id=death_item.pk) == {death_item.pk: f"matching_item_{HEXI}"}


@on_postgresql
def test_an_item_is_still_raised_once_per_person_rule_and_month():
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(
                "INSERT INTO matching_item (run_id, rule, direction, period, person_id, confidence, district_id,"
                " street_id, explanation, amount_at_stake, due_date, status, note, version)"
                " VALUES (1, 'death', 'stop', '2026-11-01', 1, 'high', %s, '120103001000', '', 0,"
                " '2026-12-01', 'open', '', 1)",
                [HEXI],
            )


@on_postgresql
def test_a_new_district_with_streets_gets_its_own_partition(db):
    city = Region.objects.get(code="120100000000")
    district = Region.objects.create(
        code="120199000000", name="新区", level=RegionLevel.DISTRICT, parent=city
    )
    Region.objects.create(code="120199001000", name="新区街道", level=RegionLevel.STREET, parent=district)

    made = partitions.ensure(today=M(2026, 11, 3))

    assert "matching_item_120199000000" in {m.partition for m in made}


@on_postgresql
def test_a_second_pass_creates_nothing(db):
    partitions.ensure(today=M(2026, 11, 3), ahead=2)
    assert partitions.ensure(today=M(2026, 11, 3), ahead=2) == []


@pytest.fixture
def app_role(db):
    """The role the application runs as, granted what `kangfu dbroles grant` gives it."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {APP}")  # left by an earlier killed run: same cluster
        cursor.execute(f"CREATE ROLE {APP} NOLOGIN")
    dbroles.apply_grants(APP)
    yield APP
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {APP}")
        cursor.execute(f"DROP ROLE {APP}")


def may(role: str, table: str, *privileges: str) -> tuple[bool, ...]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(["has_table_privilege(%s, %s, %s)"] * len(privileges)),
            [value for privilege in privileges for value in (role, table, privilege)],
        )
        return cursor.fetchone()


@on_postgresql
def test_a_new_audit_partition_answers_to_the_same_roles_as_the_trail(app_role):
    partitions.ensure(today=M(2031, 1, 10), ahead=0)

    assert may(app_role, "core_auditentry_p203101", "INSERT", "UPDATE", "DELETE") == (True, False, False)
    assert may(app_role, "subsidies_payrollline_p203101", "UPDATE", "DELETE") == (True, True)


@on_postgresql
def test_the_application_role_may_not_change_the_trails_existing_partitions(app_role):
    assert may(app_role, "core_auditentry_default", "INSERT", "UPDATE", "DELETE") == (True, False, False)
    assert may(app_role, "subsidies_payrollline_default", "UPDATE", "DELETE") == (True, True)


@on_postgresql
def test_the_command_prints_what_it_created_and_nothing_the_second_time(db):
    out = StringIO()
    with travel(M(2031, 5, 10)):
        call_command("partitions", "--ahead", "1", stdout=out)
        assert "已建分区 subsidies_payrollline_p203106" in out.getvalue()
        again = StringIO()
        call_command("partitions", "--ahead", "1", stdout=again)
    assert "新建 0 个" in again.getvalue()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="what SQLite does instead of partitioning")
def test_on_sqlite_the_pass_creates_nothing_and_the_command_says_why(db):
    out = StringIO()
    call_command("partitions", stdout=out)
    assert partitions.ensure() == []
    assert "SQLite 不分区" in out.getvalue()
