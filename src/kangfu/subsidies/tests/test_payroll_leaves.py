"""On PostgreSQL a payroll's lines for its month are a table of their own, written whole and attached
to the month's partition (migration 0019): the keys are checked and the indexes built once for the
table, not once per line. What a clerk relies on stays: the same lines and totals, a re-run replacing
them, nothing left behind by a run that fails, the application's own role able to do it and nobody
else."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from kangfu.conftest import load_regions
from kangfu.core import partitions
from kangfu.core.models import Region
from kangfu.core.tests.test_partitions import APP, HEXI, NOVEMBER, app_role, may, recipient, travel, where
from kangfu.subsidies.models import Grant, Payroll, PayrollLine, PayrollStatus
from kangfu.subsidies.services import payroll

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps one plain table of lines"),
]
__all__ = ["app_role", "recipient"]  # fixtures, used by name

LINES = "subsidies_payrollline"
LEAF = "subsidies_payrollline_p202611_r{}"


def exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def run() -> Payroll:
    with travel(dt.date(2026, 11, 20)):
        return payroll.payroll_run(actor=None, district=Region.objects.get(code=HEXI), month=NOVEMBER)


@pytest.fixture
def november(recipient):
    """The recipient as a payroll usually finds them: nothing to recalculate, so their line is one of
    the month's plain lines, which go through the stage."""
    partitions.ensure(today=dt.date(2026, 11, 20))
    Grant.objects.update(recalc_from=None)
    return recipient


def test_a_payrolls_lines_for_its_month_are_a_table_of_their_own(november):
    first = run()

    lines = where(LINES, payroll_id=first.pk)
    assert len(lines) == first.line_count == 1
    assert set(lines.values()) == {LEAF.format(first.pk)}
    assert first.total == sum(line.amount for line in PayrollLine.objects.filter(payroll=first))
    assert not exists(f"subsidies_payrollline_stage_{first.pk}")
    # its key and indexes are the lines' own, each built once (the attach took them, made none more)
    assert indexes(LEAF.format(first.pk)) == indexes(LINES) == 3


def indexes(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = to_regclass(%s)", [table])
        return cursor.fetchone()[0]


def test_a_run_again_replaces_the_lines_and_keeps_one_table(november):
    first = run()
    before = set(where(LINES, payroll_id=first.pk))

    again = run()

    after = where(LINES, payroll_id=again.pk)
    assert again.pk == first.pk and again.line_count == len(after) == 1
    assert set(after).isdisjoint(before)  # new lines, the old ones gone with their table
    assert set(after.values()) == {LEAF.format(first.pk)}
    assert PayrollLine.objects.filter(payroll=again).count() == 1


def test_a_run_again_in_the_same_transaction_after_recalculated_lines_replaces_them_too(recipient):
    # A recalculated grant's line is written through the table into the payroll's attached table,
    # its key check pending until the commit; PostgreSQL will not detach such a table, so the second
    # run's lines replace the first's in it.
    partitions.ensure(today=dt.date(2026, 11, 20))
    first = run()
    before = set(where(LINES, payroll_id=first.pk))
    Grant.objects.update(recalc_from=None)

    again = run()

    after = where(LINES, payroll_id=again.pk)
    assert again.line_count == len(after) == 1 and set(after).isdisjoint(before)
    assert set(after.values()) == {LEAF.format(first.pk)}
    assert not exists(f"subsidies_payrollline_stage_{first.pk}")


def test_a_run_that_fails_after_writing_leaves_neither_stage_nor_table(november):
    district = Region.objects.get(code=HEXI)
    with pytest.raises(RuntimeError), transaction.atomic():
        made = Payroll.objects.create(district=district, month=NOVEMBER)
        payroll.payroll_compute(payroll=made, district=district, month=NOVEMBER)
        assert exists(LEAF.format(made.pk))
        raise RuntimeError("the run stops here")

    assert not Payroll.objects.exists()
    assert not exists(LEAF.format(made.pk))
    assert not exists(f"subsidies_payrollline_stage_{made.pk}")


def test_the_applications_role_runs_a_payroll_and_its_table_answers_to_the_same_roles(november, app_role):
    with connection.cursor() as cursor:
        cursor.execute(f"SET SESSION AUTHORIZATION {APP}")
    try:
        made = run()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET SESSION AUTHORIZATION")

    assert set(where(LINES, payroll_id=made.pk).values()) == {LEAF.format(made.pk)}
    assert may(APP, LEAF.format(made.pk), "SELECT", "UPDATE", "DELETE") == (True, True, True)


def test_a_role_that_may_not_add_lines_cannot_stage_them(november):
    made = run()
    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS kangfu_reader_leaves")
        cursor.execute("CREATE ROLE kangfu_reader_leaves NOLOGIN")
        cursor.execute(f"GRANT SELECT ON {LINES} TO kangfu_reader_leaves")
    try:
        with (
            pytest.raises(DatabaseError, match="permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SET SESSION AUTHORIZATION kangfu_reader_leaves")
            cursor.execute("SELECT kangfu_payroll_stage(%s)", [made.pk])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET SESSION AUTHORIZATION")
            cursor.execute("DROP OWNED BY kangfu_reader_leaves")
            cursor.execute("DROP ROLE kangfu_reader_leaves")
    assert len(where(LINES, payroll_id=made.pk)) == 1


def test_a_locked_payroll_cannot_be_staged_again(november):
    made = run()
    Payroll.objects.filter(pk=made.pk).update(status=PayrollStatus.LOCKED)

    with (
        pytest.raises(DatabaseError, match="cannot be written"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT kangfu_payroll_stage(%s)", [made.pk])

    assert len(where(LINES, payroll_id=made.pk)) == 1


def test_a_month_whose_partition_holds_lines_stays_whole_and_its_payroll_writes_through_it(november):
    made = run()
    with connection.schema_editor() as editor:
        partitions.join_months(editor, table=LINES)
    assert set(where(LINES, payroll_id=made.pk).values()) == {"subsidies_payrollline_p202611"}

    with connection.schema_editor() as editor:
        assert "subsidies_payrollline_p202611" not in partitions.split_months(editor, table=LINES)
    again = run()

    assert set(where(LINES, payroll_id=again.pk).values()) == {"subsidies_payrollline_p202611"}
    assert again.line_count == 1
    PayrollLine.objects.all().delete()
    with connection.schema_editor() as editor:
        assert "subsidies_payrollline_p202611" in partitions.split_months(editor, table=LINES)
    assert set(where(LINES, payroll_id=run().pk).values()) == {LEAF.format(made.pk)}


@pytest.fixture
def two_districts():
    """Two districts' payrolls of November, the month's partition split, all committed."""
    load_regions()
    partitions.ensure(today=dt.date(2026, 11, 20))
    return (
        Payroll.objects.create(district_id=HEXI, month=NOVEMBER),
        Payroll.objects.create(district_id="120110000000", month=NOVEMBER),
    )


def elsewhere(work, outcome: list[str]) -> threading.Thread:
    """Start `work(cursor)` in a transaction of its own, on a connection of its own (a second user);
    `outcome` gets "done", or the database's error."""

    def body():
        from django.db import connection as own

        try:
            with transaction.atomic(), own.cursor() as cursor:
                work(cursor)
            outcome.append("done")
        except DatabaseError as exc:
            outcome.append(str(exc))
        finally:
            own.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_month_take_turns_rather_than_deadlock(two_districts):
    # Each run's attach waits for the month's DEFAULT part, which the other's first DELETE may hold:
    # two runs of one month (two districts at month's end) must not both be past their start at once.
    first, second = two_districts
    outcome: list[str] = []

    def other_district(cursor):
        cursor.execute("SET LOCAL lock_timeout = '300ms'")
        cursor.execute("SELECT kangfu_payroll_stage(%s)", [second.pk])

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT kangfu_payroll_stage(%s)", [first.pk])
        elsewhere(other_district, outcome).join()

    assert len(outcome) == 1 and "lock timeout" in outcome[0]


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_between_an_attach_and_a_clerks_save_stops_the_payroll_not_the_clerk(two_districts):
    # A clerk's transaction reads the month's lines, then saves to a table the lines point to, while a
    # payroll's attach waits for that read: the two wait for each other. The payroll waited first, so
    # its deadlock check fires first and it gives way (its task is queued again); the save goes through.
    run, other = two_districts
    payroll_pid: list[int] = []
    outcome: list[str] = []

    def payroll_attach(cursor):
        cursor.execute("SELECT pg_backend_pid()")
        payroll_pid.append(cursor.fetchone()[0])
        cursor.execute("SELECT kangfu_payroll_stage(%s)", [run.pk])
        cursor.execute("SELECT kangfu_payroll_attach(%s)", [run.pk])

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM subsidies_payrollline WHERE month_for = %s", [NOVEMBER])
        worker = elsewhere(payroll_attach, outcome)
        for _ in range(200):  # until the attach waits for the read (at most 10 s)
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = ANY(%s) AND NOT granted)", [payroll_pid]
            )
            if cursor.fetchone()[0]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the attach never waited for the clerk's read")
        time.sleep(0.3)  # the payroll has waited first, by a margin a loaded machine cannot eat
        cursor.execute("UPDATE subsidies_payroll SET error = 'saved' WHERE id = %s", [other.pk])
    worker.join()

    assert len(outcome) == 1 and "deadlock detected" in outcome[0]
    assert Payroll.objects.get(pk=other.pk).error == "saved"
    assert not exists(LEAF.format(run.pk))
