"""On PostgreSQL, the comparison items become a table partitioned by district (core.partitions): one
partition per served district and DEFAULT. Its primary key is (id, district_id), and its unique
constraint `item_once_per_person_rule_period` holds the district too, as PostgreSQL requires of a
partitioned table: an item is still raised once per person, rule and month within a district's runs
(a run is a district's, and `ON CONFLICT DO NOTHING` skips what that district already raised).
SQLite keeps the plain table and the constraint as the model declares it.

The rows are copied under a lock on the table: a one-off at upgrade (README, upgrade notes)."""

from django.db import migrations

from kangfu.core import partitions


def forward(apps, schema_editor):
    partitions.partition_table(
        schema_editor, table="matching_item", column="district_id", by=partitions.BY_DISTRICT
    )


def backward(apps, schema_editor):
    partitions.unpartition_table(schema_editor, table="matching_item", column="district_id")


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0013_agency_channels"),
        ("core", "0012_audit_trail_partitioned_by_month"),
    ]

    operations = [migrations.RunPython(forward, backward)]
