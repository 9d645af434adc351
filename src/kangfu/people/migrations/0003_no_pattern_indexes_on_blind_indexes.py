"""Drop the pattern-matching (`varchar_pattern_ops`) indexes PostgreSQL's backend adds beside every
unique text column. A blind index is only ever looked up whole, never with LIKE, so they were never
read; each cost a random insert into a second index of the table's size (7.5 s per million people
at the go-live import, measured). SQLite has none."""

from django.db import migrations

INDEXES = [
    ("people_person", "id_number_hash", "people_person_id_number_hash_3d26bfc4_like"),
    ("people_disabilitycertificate", "number_hash", "people_disabilitycertificate_number_hash_a19d08a6_like"),
    ("people_guardian", "id_number_hash", "people_guardian_id_number_hash_2fa8f8dc_like"),
]


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, _column, name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def restore(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column, name in INDEXES:
        q = schema_editor.quote_name
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {q(name)} ON {q(table)} ({q(column)} varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [("people", "0002_foreign_keys_checked_once")]

    operations = [migrations.RunPython(drop, restore, elidable=False)]
