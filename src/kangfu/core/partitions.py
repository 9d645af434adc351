"""Declarative partitioning of the tables that grow without end, on PostgreSQL only (SQLite keeps
plain tables): the payroll lines and the audit trail by month (RANGE), the comparison items by
district (LIST).

A table is turned into a partitioned one once, by its app's migration (`partition_table`), and from
then on `ensure` keeps its partitions ahead: this month and the next `ahead` months for a monthly
table, one partition per served district (a current district with streets under it) for a table by
district, and a DEFAULT partition in every table, so that an insert never fails for want of a
partition. Whatever lands in DEFAULT (a line for a month long past, an item of a district created
since) is given its own partition at the next pass: PostgreSQL will not create a partition while
DEFAULT holds rows that belong in it, so those rows are moved out first (`_drain_default`).

Core names no app: `ensure` finds the partitioned tables in the catalog (`pg_partitioned_table`) and
reads each one's strategy and key column there. An app may ask for its monthly table's month
partitions to be split again by LIST on a column (`split_by`; the payroll lines, by payroll), each
month then made with a DEFAULT of its own.

What partitioning costs and why it is safe here:
- PostgreSQL requires the partition key in every primary key and unique constraint. The model keeps
  `id` as its primary key (a bigint identity, unique in practice because the sequence hands each
  value out once); the table's primary key becomes `(id, key)`, and a unique constraint gets the key
  appended (the items': person, rule, period and district, see `matching.0014`).
- A foreign key that points to a partitioned table must reference a unique key holding the partition
  key. No table points to these three (the audit trail's rows are named by plain columns, and
  nothing references a line or an item), so no foreign key had to go; a future one must be declared
  `db_constraint=False` with its integrity kept by the services. Foreign keys *from* these tables
  (a line's payroll, grant, person and street) stay as they were.
- The audit trail's append-only trigger is created again on the partitioned table, from which
  PostgreSQL clones it onto every partition; moving rows out of DEFAULT never deletes an audit row,
  it detaches the DEFAULT partition, copies its rows back through the parent and drops the detached
  table, which no row trigger sees.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django_tasks import task

from kangfu.core import taskfaults
from kangfu.core.months import add_months, month_start

logger = logging.getLogger(__name__)

BY_MONTH = "month"
BY_DISTRICT = "district"
DEFAULT_SUFFIX = "_default"
# The months a pass keeps ready beyond this one (`kangfu partitions --ahead`).
AHEAD = 3
# Seconds between two passes of the worker: partitions are made months ahead, so once an hour is plenty.
EVERY = 3600.0
# Monthly tables whose month partitions are split again, by LIST on a column, each with a DEFAULT of
# its own (the payroll lines, by payroll: a payroll's lines are written into a table of their own and
# attached whole, see `subsidies.migrations.0019`). The owning app registers its table (`split_by`).
SPLIT: dict[str, str] = {}


def split_by(table: str, column: str) -> None:
    SPLIT[table] = column


@dataclass(frozen=True)
class Made:
    """One partition a pass created, and how many rows it took over from DEFAULT."""

    table: str
    partition: str
    bounds: str
    moved: int = 0


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the bounds of a partition ----------------------------------------------------------------------


def _month_literal(month: dt.date, *, timestamped: bool) -> str:
    if not timestamped:
        return f"'{month.isoformat()}'"
    # A timestamp column is cut at midnight in the city's zone, where a month begins for its users.
    return f"'{dt.datetime(month.year, month.month, 1, tzinfo=ZoneInfo(settings.TIME_ZONE)).isoformat()}'"


def _partition_name(table: str, key: dt.date | str) -> str:
    if isinstance(key, dt.date):
        return f"{table}_p{key:%Y%m}"
    return f"{table}_{re.sub(r'[^0-9A-Za-z]', '_', key)}"


def _bounds(key: dt.date | str, *, timestamped: bool) -> str:
    if isinstance(key, dt.date):
        return (
            f"FROM ({_month_literal(key, timestamped=timestamped)}) "
            f"TO ({_month_literal(add_months(key, 1), timestamped=timestamped)})"
        )
    return "IN ('" + key.replace("'", "''") + "')"


# --- what a table has and wants ---------------------------------------------------------------------


@dataclass(frozen=True)
class Partitioned:
    """A partitioned table as the catalog describes it."""

    table: str
    by: str  # BY_MONTH or BY_DISTRICT
    column: str
    timestamped: bool  # a timestamp key (the audit trail's `at`) rather than a date

    def bucket_sql(self, column: str) -> str:
        """SQL for the partition key value a row belongs to: its month, or its district."""
        if self.by == BY_DISTRICT:
            return column
        if self.timestamped:
            return f"CAST(date_trunc('month', {column} AT TIME ZONE '{settings.TIME_ZONE}') AS date)"
        # Through timestamp (without zone): a bare date would pass through the session's time zone.
        return f"CAST(date_trunc('month', CAST({column} AS timestamp)) AS date)"


def partitioned_tables(cursor) -> list[Partitioned]:
    """Every partitioned table of the current schema with a single key column."""
    cursor.execute(
        """SELECT c.relname, p.partstrat, a.attname, format_type(a.atttypid, a.atttypmod)
           FROM pg_partitioned_table p
           JOIN pg_class c ON c.oid = p.partrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
           WHERE n.nspname = current_schema() AND p.partnatts = 1 AND NOT c.relispartition
           ORDER BY c.relname"""
    )
    return [
        Partitioned(
            table=name,
            by=BY_DISTRICT if strategy == "l" else BY_MONTH,
            column=column,
            timestamped=type_name.startswith("timestamp"),
        )
        for name, strategy, column, type_name in cursor.fetchall()
        if strategy in ("l", "r")
    ]


def _exists(cursor, name: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [_q(name)])
    return cursor.fetchone()[0]


def served_districts(cursor) -> list[str]:
    """The districts the deployment serves: current districts with streets under them. The shipped
    regions hold every county of China, which would be thousands of empty partitions; a city's own
    districts are the ones given streets."""
    cursor.execute(
        """SELECT d.code FROM core_region d
           WHERE d.level = 3 AND d.successor_id IS NULL
             AND EXISTS (SELECT 1 FROM core_region s WHERE s.parent_id = d.code AND s.level = 4)
           ORDER BY d.code"""
    )
    return [row[0] for row in cursor.fetchall()]


def _wanted(cursor, spec: Partitioned, *, ahead: int, today: dt.date) -> list[dt.date | str]:
    if spec.by == BY_DISTRICT:
        return served_districts(cursor)
    this = month_start(today)
    return [add_months(this, n) for n in range(ahead + 1)]


def _in_default(cursor, spec: Partitioned) -> list[dt.date | str]:
    default = spec.table + DEFAULT_SUFFIX
    if not _exists(cursor, default):
        return []
    cursor.execute(f"SELECT DISTINCT {spec.bucket_sql(_q(spec.column))} FROM {_q(default)} ORDER BY 1")  # noqa: S608
    return [row[0] for row in cursor.fetchall()]


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        """SELECT attname FROM pg_attribute
           WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum""",
        [_q(table)],
    )
    return [row[0] for row in cursor.fetchall()]


# --- privileges: a partition answers to the same roles as its table ---------------------------------


def _acl(cursor, table: str) -> list[tuple[str, str]]:
    """(grantee, privilege) of every grant on `table` to someone other than its owner."""
    cursor.execute(
        """SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END, a.privilege_type
           FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
           LEFT JOIN pg_roles r ON r.oid = a.grantee
           WHERE c.oid = to_regclass(%s) AND a.grantee <> c.relowner""",
        [_q(table)],
    )
    return cursor.fetchall()


def _apply_acl(cursor, table: str, acl: list[tuple[str, str]]) -> None:
    """Make `table`'s grants exactly `acl`: a partition made by the owner would otherwise get the
    owner's default privileges, which on the audit trail include UPDATE and DELETE for the
    application role (`core.dbroles` revokes them on the table itself)."""
    for grantee in {grantee for grantee, _ in _acl(cursor, table)}:
        cursor.execute(f"REVOKE ALL ON {_q(table)} FROM {grantee}")
    for grantee, privilege in acl:
        cursor.execute(f"GRANT {privilege} ON {_q(table)} TO {grantee}")


# --- making partitions ------------------------------------------------------------------------------


def _create(cursor, spec: Partitioned, key: dt.date | str, *, split: bool = True) -> Made:
    name = _partition_name(spec.table, key)
    bounds = _bounds(key, timestamped=spec.timestamped)
    column = SPLIT.get(spec.table) if split and isinstance(key, dt.date) else None
    split_sql = f" PARTITION BY LIST ({_q(column)})" if column else ""
    cursor.execute(f"CREATE TABLE {_q(name)} PARTITION OF {_q(spec.table)} FOR VALUES {bounds}{split_sql}")
    _apply_acl(cursor, name, _acl(cursor, spec.table))
    if column:
        _create_default(cursor, name)
    return Made(spec.table, name, bounds)


def _create_default(cursor, table: str) -> None:
    name = table + DEFAULT_SUFFIX
    cursor.execute(f"CREATE TABLE {_q(name)} PARTITION OF {_q(table)} DEFAULT")
    _apply_acl(cursor, name, _acl(cursor, table))


def _drain_default(cursor, spec: Partitioned, keys: list[dt.date | str]) -> list[Made]:
    """Create the partitions for `keys`, some of whose rows sit in DEFAULT. PostgreSQL refuses a new
    partition while DEFAULT holds rows that belong in it, and the audit trail refuses to have rows
    deleted; so DEFAULT is detached, a new empty one put in its place, the partitions created, the
    old DEFAULT's rows inserted again through the table (each lands where it belongs now) and the
    detached table dropped. The table is locked for as long as the copy takes, which is only as
    long as DEFAULT is big: the pass keeps it empty."""
    default = spec.table + DEFAULT_SUFFIX
    old = f"{spec.table}_default_old"
    cursor.execute(f"ALTER TABLE {_q(spec.table)} DETACH PARTITION {_q(default)}")
    cursor.execute(f"ALTER TABLE {_q(default)} RENAME TO {_q(old)}")
    _create_default(cursor, spec.table)
    made = [_create(cursor, spec, key) for key in keys]
    columns = ", ".join(_q(c) for c in _columns(cursor, spec.table))
    bucket = spec.bucket_sql(_q(spec.column))
    cursor.execute(
        f"SELECT {bucket}, count(*) FROM {_q(old)} GROUP BY 1"  # noqa: S608
    )
    moved = dict(cursor.fetchall())
    cursor.execute(f"INSERT INTO {_q(spec.table)} ({columns}) SELECT {columns} FROM {_q(old)}")  # noqa: S608
    cursor.execute(f"DROP TABLE {_q(old)}")
    return [
        Made(m.table, m.partition, m.bounds, moved.get(key, 0)) for m, key in zip(made, keys, strict=True)
    ]


def _owns(cursor, table: str) -> bool:
    cursor.execute(
        "SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = to_regclass(%s)",
        [_q(table)],
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def ensure_table(
    cursor, spec: Partitioned, *, ahead: int = AHEAD, today: dt.date | None = None
) -> list[Made]:
    """Create what `spec.table` lacks: DEFAULT, the partitions it wants, and one for every key found
    in DEFAULT (those rows moved into it). Idempotent: a second pass creates nothing."""
    today = today or timezone.localdate()
    if not _exists(cursor, spec.table + DEFAULT_SUFFIX):
        _create_default(cursor, spec.table)
    stranded = _in_default(cursor, spec)
    missing = [
        key
        for key in dict.fromkeys([*_wanted(cursor, spec, ahead=ahead, today=today), *stranded])
        if not _exists(cursor, _partition_name(spec.table, key))
    ]
    if not missing:
        return []
    if any(key in stranded for key in missing):
        return _drain_default(cursor, spec, missing)
    return [_create(cursor, spec, key) for key in missing]


def ensure(
    *, ahead: int = AHEAD, today: dt.date | None = None, connection: BaseDatabaseWrapper | None = None
) -> list[Made]:
    """One pass over every partitioned table (none on SQLite), each in its own transaction. A role
    that does not own a table (the application's, with two database roles) cannot add partitions to
    it: the pass skips that table and says so, and the owner's `kangfu partitions` does the work."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return []
    made: list[Made] = []
    with connection.cursor() as cursor:
        tables = partitioned_tables(cursor)
    for spec in tables:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            if not _owns(cursor, spec.table):
                logger.warning("partitions of %s not created: the role does not own the table", spec.table)
                continue
            made += ensure_table(cursor, spec, ahead=ahead, today=today)
    for m in made:
        logger.info("partition %s created (%s), %d rows moved from DEFAULT", m.partition, m.bounds, m.moved)
    return made


def run_periodic() -> None:
    """The worker's hourly pass (`core.apps`)."""
    ensure()


@task()
def create_partitions(ahead: int = AHEAD) -> int:
    """One pass as a queued task (after a district is added, say); the number of partitions made."""
    return len(ensure(ahead=ahead))


# Safe to run again: a pass creates only what is missing, each table in one transaction.
taskfaults.declare(create_partitions, idempotent=True)


# --- turning a plain table into a partitioned one, and back (migrations) ----------------------------


def _capture(cursor, table: str) -> dict:
    """What has to be made again on the rebuilt table: constraints, indexes that back no constraint,
    triggers, grants, and where the identity sequence stands."""
    cursor.execute(
        """SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u', 'f', 'c')
           ORDER BY CASE contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'c' THEN 2 ELSE 3 END, conname""",
        [_q(table)],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
           WHERE i.indrelid = to_regclass(%s)
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid
                             AND c.conrelid = i.indrelid)
           ORDER BY i.indexrelid""",
        [_q(table)],
    )
    indexes = [row[0].replace(" ON ONLY ", " ON ") for row in cursor.fetchall()]
    cursor.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND NOT tgisinternal",
        [_q(table)],
    )
    triggers = [row[0] for row in cursor.fetchall()]
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [_q(table)])
    sequence = cursor.fetchone()[0]
    position = None
    if sequence:
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608  (from the catalog)
        position = cursor.fetchone()
    return {
        "constraints": constraints,
        "indexes": indexes,
        "triggers": triggers,
        "acl": _acl(cursor, table),
        "position": position,
    }


def _keyed(definition: str, column: str, *, add: bool) -> str:
    """A PRIMARY KEY or UNIQUE definition with the partition key appended (or taken off again)."""
    match = re.fullmatch(r"(PRIMARY KEY|UNIQUE) \((.*)\)(.*)", definition, re.S)
    if not match:
        return definition
    columns = [c.strip() for c in match.group(2).split(",")]
    key = _q(column) if _q(column) in columns else column
    if add and key not in columns:
        columns.append(column)
    if not add and key in columns and len(columns) > 1:
        columns.remove(key)
    return f"{match.group(1)} ({', '.join(columns)}){match.group(3)}"


def _rebuild(cursor, table: str, *, column: str, by: str | None, keys: list) -> None:
    """Make `table` again, partitioned by `column` (by BY_MONTH or BY_DISTRICT) or plain (by None),
    with the same columns, rows, identity position, constraints (the partition key added to or taken
    from the primary and unique keys), indexes, triggers and grants."""
    kept = _capture(cursor, table)
    new = f"{table}__rebuilt"
    partition_by = {
        BY_MONTH: f" PARTITION BY RANGE ({_q(column)})",
        BY_DISTRICT: f" PARTITION BY LIST ({_q(column)})",
    }
    cursor.execute(
        f"CREATE TABLE {_q(new)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING IDENTITY"
        f" INCLUDING GENERATED INCLUDING STORAGE INCLUDING COMMENTS){partition_by.get(by, '')}"
    )
    if by is not None:
        cursor.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s",
            [_q(table), column],
        )
        spec = Partitioned(new, by, column, cursor.fetchone()[0].startswith("timestamp"))
        cursor.execute(f"CREATE TABLE {_q(table + DEFAULT_SUFFIX)} PARTITION OF {_q(new)} DEFAULT")
        cursor.execute(f"SELECT DISTINCT {spec.bucket_sql(_q(column))} FROM {_q(table)}")  # noqa: S608
        present = [row[0] for row in cursor.fetchall()]
        for key in dict.fromkeys([*keys, *present]):
            cursor.execute(
                f"CREATE TABLE {_q(_partition_name(table, key))} PARTITION OF {_q(new)}"
                f" FOR VALUES {_bounds(key, timestamped=spec.timestamped)}"
            )
    columns = ", ".join(_q(c) for c in _columns(cursor, table))
    cursor.execute(f"INSERT INTO {_q(new)} ({columns}) SELECT {columns} FROM {_q(table)}")  # noqa: S608
    cursor.execute(f"DROP TABLE {_q(table)}")
    cursor.execute(f"ALTER TABLE {_q(new)} RENAME TO {_q(table)}")
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [_q(table)])
    sequence = cursor.fetchone()[0]
    if sequence:
        # The old table's sequence went with it; the new one takes its name and its position, so
        # that no id is handed out twice (lines deleted by a re-run leave gaps above the largest).
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {_q(table + '_id_seq')}")
        if kept["position"]:
            last, called = kept["position"]
            cursor.execute("SELECT setval(%s, %s, %s)", [_q(table + "_id_seq"), last, called])
    for name, kind, definition in kept["constraints"]:
        if kind in ("p", "u"):
            definition = _keyed(definition, column, add=by is not None)
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
    for statement in kept["indexes"] + kept["triggers"]:
        cursor.execute(statement)
    if by is not None:
        for partition in _partitions_of(cursor, table):
            _apply_acl(cursor, partition, kept["acl"])
    _apply_acl(cursor, table, kept["acl"])


def _month_partitions(cursor, table: str) -> list[tuple[str, dt.date, bool]]:
    """(name, month, split) of each month partition of `table`."""
    found = []
    for name in _partitions_of(cursor, table):
        match = re.fullmatch(re.escape(table) + r"_p(\d{4})(\d{2})", name)
        if match:
            found.append((name, dt.date(int(match[1]), int(match[2]), 1), is_partitioned(cursor, name)))
    return found


def split_months(schema_editor, *, table: str) -> list[str]:
    """A migration's forward step after `split_by(table, …)`: every empty month partition of `table`
    is made again split. One holding rows stays as it is (its rows are written through the table as
    before; copying them would lock the month for as long): a month made from now on is split."""
    if schema_editor.connection.vendor != "postgresql":
        return []
    done = []
    with schema_editor.connection.cursor() as cursor:
        spec = Partitioned(table, BY_MONTH, "", False)
        for name, month, split in _month_partitions(cursor, table):
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(name)})")  # noqa: S608
            if split or cursor.fetchone()[0]:
                continue
            cursor.execute(f"DROP TABLE {_q(name)}")
            _create(cursor, spec, month)
            done.append(name)
    return done


def join_months(schema_editor, *, table: str) -> None:
    """The way back: each split month partition becomes one plain table again, with every row."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        spec = Partitioned(table, BY_MONTH, "", False)
        columns = ", ".join(_q(c) for c in _columns(cursor, table))
        for name, month, split in _month_partitions(cursor, table):
            if not split:
                continue
            old = name + "_split_old"
            cursor.execute(f"ALTER TABLE {_q(table)} DETACH PARTITION {_q(name)}")
            cursor.execute(f"ALTER TABLE {_q(name)} RENAME TO {_q(old)}")
            _create(cursor, spec, month, split=False)
            cursor.execute(f"INSERT INTO {_q(name)} ({columns}) SELECT {columns} FROM {_q(old)}")  # noqa: S608
            cursor.execute(f"DROP TABLE {_q(old)}")


def _partitions_of(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
        [_q(table)],
    )
    return [row[0] for row in cursor.fetchall()]


def is_partitioned(cursor, table: str) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [_q(table)]
    )
    return cursor.fetchone()[0]


def partition_table(schema_editor, *, table: str, column: str, by: str) -> None:
    """A migration's forward step: `table` becomes partitioned by `column` on PostgreSQL, its rows
    copied into their partitions (this month and the next AHEAD, or the served districts, every key
    its rows hold, and DEFAULT). It holds the table locked while it copies: a one-off, at upgrade."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if is_partitioned(cursor, table):
            return
        # Deferred foreign-key checks of rows written earlier in this transaction would stop the DROP.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        spec = Partitioned(table, by, column, False)
        keys = _wanted(cursor, spec, ahead=AHEAD, today=timezone.localdate())
        _rebuild(cursor, table, column=column, by=by, keys=keys)


def unpartition_table(schema_editor, *, table: str, column: str) -> None:
    """The migration's way back: a plain table with every row, its primary and unique keys as before."""
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        if not is_partitioned(cursor, table):
            return
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _rebuild(cursor, table, column=column, by=None, keys=[])
