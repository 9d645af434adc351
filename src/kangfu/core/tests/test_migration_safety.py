"""Migrations that would lock a large table for long on PostgreSQL are refused in review.

A city's people, grants, payroll lines and audit trail run to millions of rows. On PostgreSQL, an
operation that rewrites such a table or scans it under a strong lock stops every page that touches it
for minutes: `kangfu upgrade` would take the service down. This test walks every migration of the
Kangfu apps newer than the accepted baseline and refuses, on a large table:

- AddField with an index, a unique constraint or a foreign key (CREATE INDEX without CONCURRENTLY
  blocks writes; a foreign key is validated by a scan), a NOT NULL column without a default (fails on
  existing rows) or with a database default that is an expression rather than a constant (PostgreSQL
  rewrites the table; a constant default, Python's or the database's, is only recorded in the catalog
  since PostgreSQL 11 and is fine);
- AlterField that changes the column's type (a rewrite under ACCESS EXCLUSIVE; a longer varchar or
  varchar to text is fine), makes a column NOT NULL (a scan under ACCESS EXCLUSIVE), or adds an index
  or uniqueness;
- AddIndex that is not AddIndexConcurrently in a non-atomic migration, AddConstraint that is not
  AddConstraintNotValid (followed by ValidateConstraint), AlterUniqueTogether / AlterIndexTogether;
- RunPython that loads a large model, unless its migration is `atomic = False` and the function works
  in batches (says "batch"); RunSQL on a large table that builds an index without CONCURRENTLY, adds a
  constraint without NOT VALID, changes a type, sets NOT NULL, or updates or deletes rows.

Each message says what to do instead. A migration that must lock anyway (in a maintenance window) is
added to ACCEPTED with a line saying why.
"""

from __future__ import annotations

import inspect
import re

import pytest
from django.apps import apps
from django.contrib.postgres.operations import (
    AddConstraintNotValid,
    AddIndexConcurrently,
    ValidateConstraint,
)
from django.db import migrations, models
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.migrations.loader import MigrationLoader
from django.db.models.expressions import Value
from django.db.models.functions import Now

# Tables that reach millions of rows in a city (and tens of millions in a province).
LARGE_TABLES = frozenset(
    {
        "core.AuditEntry",
        "people.Person",
        "people.Guardian",
        "people.DisabilityCertificate",
        "people.IncomePeriod",
        "people.LifeEvent",
        "subsidies.Application",
        "subsidies.ApplicationStep",
        "subsidies.Document",
        "subsidies.Grant",
        "subsidies.GrantPeriod",
        "subsidies.GrantChange",
        "subsidies.PayrollLine",
        "subsidies.HeldGrant",
        "subsidies.ReviewTask",
        "subsidies.Visit",
        "subsidies.Recovery",
        "matching.FeedRow",
        "matching.Item",
        "rehab.Attendance",
        "rehab.CaseEvent",
        "rehab.FollowUp",
        "rehab.RegisteredPerson",
        "devices.UnitEvent",
        "devices.Charge",
    }
)

# The migrations in place when this check was introduced (issue 17), reviewed by hand. A later one
# that has to lock a large table anyway is added here with a comment saying why and when it runs.
ACCEPTED = {
    ("core", name)
    for name in [
        "0001_initial",
        "0002_audit_append_only",
        "0003_calendarday",
        "0004_regions_of_china",
        "0005_calendar_days_from_state_council",
        "0006_role_dpf_reviewer",
        "0007_public_attempts",
    ]
} | {
    ("devices", "0001_initial"),
    ("golive", "0001_initial"),
    ("people", "0001_initial"),
    ("matching", "0001_initial"),
    ("matching", "0002_comparison_runs_and_items"),
    ("matching", "0003_item_case_declared_death"),
    ("matching", "0004_item_references_unchecked"),
    ("matching", "0005_feed_row_kind"),
    ("matching", "0006_feed_row_kind_from_source"),
    ("matching", "0007_feed_import_duplicates_and_blank_lines"),
    ("matching", "0008_item_kept_for_same_nature"),
    ("matching", "0009_confidence_ambiguous"),
    ("matching", "0010_feed_kind_declared_missing"),
    ("matching", "0011_item_direction_transfer"),
    ("matching", "0012_feed_import_district"),
    ("rehab", "0001_initial"),
    ("rehab", "0002_stats_at_scale"),
    ("rehab", "0003_outcome_counts_one_served_case"),
    ("rehab", "0004_covering_counter_index"),
    ("rehab", "0005_roster_district"),
    ("subsidies", "0001_initial"),
    ("subsidies", "0002_month_calendar"),
    ("subsidies", "0003_payrollline_composite_indexes_only"),
    ("subsidies", "0004_reviews_and_visits"),
    ("subsidies", "0005_recoveries"),
    ("subsidies", "0006_grant_recalc_marked_at"),
    ("subsidies", "0007_payment_formats"),
    ("subsidies", "0008_default_payment_formats"),
    ("subsidies", "0009_payroll_source"),
    ("subsidies", "0010_stop_reasons_excluded_and_grade"),
    ("subsidies", "0011_policy_back_pay_months"),
    ("subsidies", "0012_grant_moving_to_another_district"),
    ("subsidies", "0013_county_dpf_review_step"),
    ("subsidies", "0014_appeals"),
    ("subsidies", "0015_payroll_run_as_a_task"),
    ("subsidies", "0016_review_task_assigned_to"),
    # Partitioning (issue 17): on PostgreSQL each rebuilds its table as a partitioned one, copying
    # every row under an exclusive lock (core.partitions.partition_table; the check cannot see inside
    # its RunPython). There is no online way to turn a table into a partitioned one, and it happens
    # once: the README's upgrade notes give the time to plan for. SQLite does nothing.
    ("core", "0012_audit_trail_partitioned_by_month"),
    ("subsidies", "0017_payroll_lines_partitioned_by_month"),
    ("matching", "0014_items_partitioned_by_district"),
    # A payroll's lines as a table of their own (issue 17): the lines' primary key takes the payroll
    # (PostgreSQL wants every partition key in it), which builds the key's index again under a lock
    # that stops writes to the lines, not reads. Once, at the upgrade that carries 0017 as well.
    ("subsidies", "0019_payroll_lines_in_a_table_per_payroll"),
}

INDEX_INSTEAD = (
    "改为先加不带索引的列（外键用 db_index=False、db_constraint=False），再在一个 atomic = False 的迁移里"
    "用 AddIndexConcurrently 建索引（外键约束用 RunSQL 加 NOT VALID 约束后 VALIDATE）。"
)
NOT_NULL_INSTEAD = (
    "改为先加可空列，分批回填（atomic = False 的迁移或命令，每批一个事务），再加 CHECK (列 IS NOT NULL) "
    "NOT VALID 约束、VALIDATE 之后 SET NOT NULL。"
)
TYPE_INSTEAD = "改为新建一列、分批复制数据、切换读写后再删除旧列；类型变更会在排他锁下重写整张表。"
ADD_INDEX_INSTEAD = (
    "改用 django.contrib.postgres.operations.AddIndexConcurrently，放在 atomic = False 的迁移里。"
)
CONSTRAINT_INSTEAD = (
    "检查约束改用 AddConstraintNotValid 加上、再在下一个迁移里 ValidateConstraint；唯一约束先用 "
    "RunSQL 的 CREATE UNIQUE INDEX CONCURRENTLY（atomic = False）建索引，再 ADD CONSTRAINT … USING INDEX。"
)
RUN_PYTHON_INSTEAD = (
    "改为 atomic = False 的迁移，按主键分批（每批约一万行、各自一个事务）处理，函数里写明 batch；"
    "或者做成部署后运行的命令或后台任务。"
)
RUN_SQL_INSTEAD = (
    "索引用 CREATE INDEX CONCURRENTLY（atomic = False），约束加 NOT VALID 再 VALIDATE，"
    "数据修改分批进行；类型和 NOT NULL 变更见上。"
)

_PG = PostgresWrapper({"NAME": "migration_check", "OPTIONS": {}, "TIME_ZONE": None}, alias="migration_check")


def _large_labels() -> set[str]:
    return {label.lower() for label in LARGE_TABLES}


def _large_db_tables() -> set[str]:
    return {apps.get_model(label)._meta.db_table for label in LARGE_TABLES}


def _indexed(field) -> bool:
    return bool(field.db_index or field.unique or (field.is_relation and field.many_to_one))


def _volatile_db_default(field) -> bool:
    default = getattr(field, "db_default", models.NOT_PROVIDED)
    return default is not models.NOT_PROVIDED and not isinstance(default, Value)


def _has_default(field) -> bool:
    """Whether existing rows get a value: a default, a database default, or one Django's schema editor
    supplies itself (an empty string for a blank text column, now for auto_now dates)."""
    return (
        field.has_default()
        or getattr(field, "db_default", models.NOT_PROVIDED) is not models.NOT_PROVIDED
        or (field.blank and field.empty_strings_allowed)
        or getattr(field, "auto_now", False)
        or getattr(field, "auto_now_add", False)
    )


def _widening(old_type: str | None, new_type: str | None) -> bool:
    """A change PostgreSQL makes in the catalog alone: a longer varchar, or varchar to text."""
    old, new = (
        re.fullmatch(r"varchar\((\d+)\)", old_type or ""),
        re.fullmatch(r"varchar\((\d+)\)", new_type or ""),
    )
    if old and new:
        return int(new.group(1)) >= int(old.group(1))
    return bool(old) and new_type == "text"


def _sources_of(code) -> str:
    try:
        return inspect.getsource(code)
    except (OSError, TypeError):
        return ""


_GET_MODEL = re.compile(
    r"""get_model\(\s*["'](\w+)["']\s*,\s*["'](\w+)["']|get_model\(\s*["'](\w+)\.(\w+)["']"""
)
_BAD_SQL = [
    re.compile(r"\bCREATE\s+(UNIQUE\s+)?INDEX\b(?!\s+CONCURRENTLY)", re.I),
    re.compile(r"\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b", re.I),
    re.compile(r"\bSET\s+NOT\s+NULL\b", re.I),
    re.compile(r"\bADD\s+CONSTRAINT\b(?![^;]*\bNOT\s+VALID\b)(?![^;]*\bUSING\s+INDEX\b)", re.I),
    re.compile(r"\bUPDATE\s+\S+\s+SET\b", re.I),
    re.compile(r"\bDELETE\s+FROM\b", re.I),
]


def operation_problems(
    app_label: str, operation, state, migration, *, new: frozenset = frozenset()
) -> list[str]:
    """What is wrong with one operation, judged against the project state just before it. `new` holds
    the models the same migration created: their tables are empty, anything goes."""
    large = _large_labels() - new
    model = getattr(operation, "model_name_lower", None) or getattr(operation, "model_name", "")
    on_large = f"{app_label}.{str(model).lower()}" in large
    where = f"{app_label}.{model}"
    problems = []
    if isinstance(operation, migrations.AddField) and on_large:
        field = operation.field
        if _indexed(field):
            problems.append(f"AddField {where}.{operation.name} 带索引、唯一约束或外键：{INDEX_INSTEAD}")
        if not field.null and not _has_default(field):
            problems.append(f"AddField {where}.{operation.name} 为非空列且没有默认值：{NOT_NULL_INSTEAD}")
        if not field.null and _volatile_db_default(field):
            problems.append(
                f"AddField {where}.{operation.name} 为非空列、数据库默认值是表达式（会重写整张表）：{NOT_NULL_INSTEAD}"
            )
    elif isinstance(operation, migrations.AlterField) and on_large:
        old = state.apps.get_model(app_label, model)._meta.get_field(operation.name)
        after = state.clone()
        operation.state_forwards(app_label, after)
        altered = after.apps.get_model(app_label, model)._meta.get_field(operation.name)
        old_type, new_type = old.db_type(_PG), altered.db_type(_PG)
        if old_type != new_type and not _widening(old_type, new_type):
            problems.append(
                f"AlterField {where}.{operation.name} 把类型从 {old_type} 改为 {new_type}：{TYPE_INSTEAD}"
            )
        if old.null and not altered.null:
            problems.append(f"AlterField {where}.{operation.name} 改为非空：{NOT_NULL_INSTEAD}")
        if (_indexed(altered) and not _indexed(old)) or (altered.unique and not old.unique):
            problems.append(f"AlterField {where}.{operation.name} 新增索引或唯一约束：{INDEX_INSTEAD}")
    elif isinstance(operation, migrations.AddIndex) and on_large:
        if not isinstance(operation, AddIndexConcurrently):
            problems.append(f"AddIndex {operation.index.name} 在大表 {where} 上：{ADD_INDEX_INSTEAD}")
        elif migration.atomic:
            problems.append(f"AddIndexConcurrently {operation.index.name} 所在迁移须为 atomic = False。")
    elif isinstance(operation, migrations.AddConstraint) and on_large:
        if not isinstance(operation, AddConstraintNotValid):
            problems.append(
                f"AddConstraint {operation.constraint.name} 在大表 {where} 上：{CONSTRAINT_INSTEAD}"
            )
    elif isinstance(operation, ValidateConstraint):
        pass  # a scan under SHARE UPDATE EXCLUSIVE: reads and writes go on
    elif isinstance(operation, migrations.AlterUniqueTogether | migrations.AlterIndexTogether) and on_large:
        if getattr(operation, "option_value", None):
            problems.append(f"{type(operation).__name__} 在大表 {where} 上：{CONSTRAINT_INSTEAD}")
    elif isinstance(operation, migrations.RunPython):
        source = _sources_of(operation.code)
        touched = {
            f"{m.group(1) or m.group(3)}.{m.group(2) or m.group(4)}".lower()
            for m in _GET_MODEL.finditer(source)
        } & large
        if touched and (migration.atomic or "batch" not in source.lower()):
            problems.append(f"RunPython 处理大表 {'、'.join(sorted(touched))}：{RUN_PYTHON_INSTEAD}")
    elif isinstance(operation, migrations.RunSQL):
        sql = operation.sql if isinstance(operation.sql, str) else " ".join(map(str, operation.sql))
        tables = {t for t in _large_db_tables() if re.search(rf"\b{re.escape(t)}\b", sql)}
        if tables and any(pattern.search(sql) for pattern in _BAD_SQL):
            problems.append(f"RunSQL 在大表 {'、'.join(sorted(tables))} 上加锁过久：{RUN_SQL_INSTEAD}")
    return problems


def migration_problems(migration, state) -> list[str]:
    """Every operation's problems, each judged against the state the ones before it left."""
    state = state.clone()
    problems, created = [], set()
    for operation in migration.operations:
        problems += operation_problems(
            migration.app_label, operation, state, migration, new=frozenset(created)
        )
        if isinstance(operation, migrations.CreateModel):
            created.add(f"{migration.app_label}.{operation.name_lower}")
        operation.state_forwards(migration.app_label, state)
    return problems


def _kangfu_labels() -> set[str]:
    return {c.label for c in apps.get_app_configs() if c.name.startswith("kangfu.")}


def test_every_large_table_named_is_a_model():
    for label in LARGE_TABLES:
        assert apps.get_model(label)


def test_no_migration_since_the_baseline_locks_a_large_table_for_long():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = _kangfu_labels()
    found = {}
    for key in sorted(loader.graph.nodes):
        if key[0] not in ours or key in ACCEPTED:
            continue
        problems = migration_problems(loader.graph.nodes[key], loader.project_state(key, at_end=False))
        if problems:
            found[f"{key[0]}.{key[1]}"] = problems
    assert not found, "\n".join(f"{name}: {p}" for name, ps in found.items() for p in ps)


# --- the check itself fails where it must ----------------------------------------------------------


@pytest.fixture(scope="module")
def current_state():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return loader.project_state()


def _judge(state, *operations, atomic: bool = True, app_label: str = "people") -> list[str]:
    migration = type(
        "Migration", (migrations.Migration,), {"operations": list(operations), "atomic": atomic}
    )("9999_synthetic", app_label)
    return migration_problems(migration, state)


def _touch_every_person(apps, schema_editor):
    apps.get_model("people", "Person").objects.update(name="x")


def _touch_every_person_in_batches(apps, schema_editor):
    person = apps.get_model("people", "Person")
    batch = 10_000
    last = 0
    while ids := list(person.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]):
        person.objects.filter(pk__in=ids).update(name="x")
        last = ids[-1]


BAD = {
    "an index": migrations.AddIndex("person", models.Index(fields=["name"], name="people_person_name_x")),
    "a check constraint": migrations.AddConstraint(
        "person", models.CheckConstraint(condition=models.Q(name__gt=""), name="people_person_named")
    ),
    "an indexed column": migrations.AddField(
        "person", "nickname", models.CharField(max_length=20, db_index=True)
    ),
    "a non-null column without default": migrations.AddField("person", "born_again", models.DateField()),
    "a non-null column with a volatile default": migrations.AddField(
        "person", "stamped", models.DateTimeField(db_default=Now())
    ),
    "a type change": migrations.AlterField("person", "name", models.IntegerField(default=0)),
    "a column made non-null": migrations.AlterField(
        "disabilitycertificate", "expires_on", models.DateField("有效期至")
    ),
    "an unbatched RunPython": migrations.RunPython(_touch_every_person, migrations.RunPython.noop),
    "an index in raw SQL": migrations.RunSQL("CREATE INDEX people_person_x ON people_person (name)"),
    "an update in raw SQL": migrations.RunSQL("UPDATE people_person SET name = name"),
}


@pytest.mark.parametrize("operation", BAD.values(), ids=BAD.keys())
def test_an_operation_that_locks_a_large_table_is_refused_with_what_to_do_instead(current_state, operation):
    problems = _judge(current_state, operation)

    assert len(problems) >= 1
    assert "改" in problems[0]


GOOD = {
    "a nullable column": (
        migrations.AddField("person", "nickname", models.CharField(max_length=20, null=True)),
        True,
    ),
    "a column with a constant default": (
        migrations.AddField("person", "nickname", models.CharField(max_length=20, default="", blank=True)),
        True,
    ),
    "a concurrent index outside a transaction": (
        AddIndexConcurrently("person", models.Index(fields=["name"], name="people_person_name_x")),
        False,
    ),
    "a constraint added NOT VALID": (
        AddConstraintNotValid(
            "person", models.CheckConstraint(condition=models.Q(name__gt=""), name="people_person_named")
        ),
        True,
    ),
    "a longer varchar": (migrations.AlterField("person", "name", models.CharField(max_length=200)), True),
    "a batched RunPython outside a transaction": (
        migrations.RunPython(_touch_every_person_in_batches, migrations.RunPython.noop),
        False,
    ),
    "a concurrent index in raw SQL": (
        migrations.RunSQL("CREATE INDEX CONCURRENTLY people_person_x ON people_person (name)"),
        False,
    ),
}


@pytest.mark.parametrize(("operation", "atomic"), GOOD.values(), ids=GOOD.keys())
def test_an_operation_that_does_not_lock_for_long_passes(current_state, operation, atomic):
    assert _judge(current_state, operation, atomic=atomic) == []


def test_a_concurrent_index_inside_a_transaction_is_refused(current_state):
    operation = AddIndexConcurrently("person", models.Index(fields=["name"], name="people_person_name_x"))
    assert _judge(current_state, operation, atomic=True) == [
        "AddIndexConcurrently people_person_name_x 所在迁移须为 atomic = False。"
    ]


def test_indexes_on_a_table_the_same_migration_creates_pass(current_state):
    operations = [
        migrations.CreateModel(
            "Scratch", [("id", models.BigAutoField(primary_key=True)), ("n", models.IntegerField())]
        ),
        migrations.AddIndex("scratch", models.Index(fields=["n"], name="people_scratch_n")),
    ]
    assert _judge(current_state, *operations) == []


def test_an_index_on_a_small_table_passes(current_state):
    operation = migrations.AddIndex("organisation", models.Index(fields=["name"], name="core_org_name_x"))
    assert _judge(current_state, operation, app_label="core") == []
