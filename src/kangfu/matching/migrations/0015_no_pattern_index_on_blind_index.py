"""Drop the pattern-matching index beside the feed rows' blind index (see people 0003: it is only ever
looked up whole). SQLite has none."""

from django.db import migrations

NAME = "matching_feedrow_id_hash_effade34_like"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(NAME)}")


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        q = schema_editor.quote_name
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {q(NAME)} ON {q('matching_feedrow')} ({q('id_hash')} varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [("matching", "0014_items_partitioned_by_district")]

    operations = [migrations.RunPython(drop, restore, elidable=False)]
