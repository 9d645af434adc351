"""On PostgreSQL, the payroll lines become a table partitioned by `month_for`, the month a line pays
(or recovers) for (core.partitions): its primary key is (id, month_for), its indexes and foreign keys
are made again on the partitioned table. SQLite keeps the plain table.

The rows are copied under a lock on the table: a one-off at upgrade (README, upgrade notes)."""

from django.db import migrations

from kangfu.core import partitions


def forward(apps, schema_editor):
    partitions.partition_table(
        schema_editor, table="subsidies_payrollline", column="month_for", by=partitions.BY_MONTH
    )


def backward(apps, schema_editor):
    partitions.unpartition_table(schema_editor, table="subsidies_payrollline", column="month_for")


class Migration(migrations.Migration):
    dependencies = [
        ("subsidies", "0016_review_task_assigned_to"),
        # Its served districts and the partitioning code's own migration come first.
        ("core", "0012_audit_trail_partitioned_by_month"),
    ]

    operations = [migrations.RunPython(forward, backward)]
