"""On PostgreSQL, the audit trail becomes a table partitioned by the month of `at` (core.partitions):
its primary key is (id, at), its indexes and append-only trigger are made again on the partitioned
table and cloned onto every partition. SQLite keeps the plain table.

The rows are copied under a lock on the table: a one-off at upgrade (README, upgrade notes)."""

from django.db import migrations

from kangfu.core import partitions


def forward(apps, schema_editor):
    partitions.partition_table(schema_editor, table="core_auditentry", column="at", by=partitions.BY_MONTH)


def backward(apps, schema_editor):
    partitions.unpartition_table(schema_editor, table="core_auditentry", column="at")


class Migration(migrations.Migration):
    dependencies = [("core", "0011_outbox_event")]

    operations = [migrations.RunPython(forward, backward)]
