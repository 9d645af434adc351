"""Keep the counters of activities per service site too, so that a purchased-service contract naming
sites counts only the sessions held at them. The counters already kept for activities are derived again
from the activities, set-based: one DELETE and one INSERT … SELECT, no row through Python."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Coalesce


def _month(vendor: str, day: str) -> str:
    if vendor == "postgresql":
        return f"CAST(date_trunc('month', {day}) AS date)"
    return f"date({day}, 'start of month')"


def _derive(schema_editor, *, by_site: bool) -> None:
    month = _month(schema_editor.connection.vendor, "held_on")
    site = "site_id" if by_site else "NULL"
    group = "institution_id, site_id" if by_site else "institution_id"
    schema_editor.execute(
        "DELETE FROM rehab_monthlycount WHERE measure IN ('activities', 'patient_times', 'family_times', 'forms')"
    )
    for measure, key, value in (
        ("activities", "service_type", "COUNT(*)"),
        ("patient_times", "service_type", "SUM(patients)"),
        ("family_times", "service_type", "SUM(family)"),
        ("forms", "form", "COUNT(*)"),
    ):
        # An institution's activities are of its own district, so the district groups with it.
        schema_editor.execute(
            "INSERT INTO rehab_monthlycount (institution_id, site_id, district_id, month, measure, key, n) "  # noqa: S608 (fixed text)
            f"SELECT institution_id, {site}, MIN(district_id), {month}, '{measure}', {key}, {value}"
            f" FROM rehab_activity GROUP BY {group}, {month}, {key} HAVING {value} <> 0"
        )


def split_by_site(apps, schema_editor):
    _derive(schema_editor, by_site=True)


def merge_sites(apps, schema_editor):
    """Back: one row per institution again, before the site column goes."""
    _derive(schema_editor, by_site=False)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0012_audit_trail_partitioned_by_month"),
        ("rehab", "0011_served_months_filled"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="monthlycount", name="rehab_count_unique"),
        migrations.AddField(
            model_name="monthlycount",
            name="site",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddConstraint(
            model_name="monthlycount",
            constraint=models.UniqueConstraint(
                models.F("institution"),
                models.F("month"),
                models.F("measure"),
                models.F("key"),
                Coalesce("site", Value(0)),
                name="rehab_count_unique",
            ),
        ),
        migrations.RunPython(split_by_site, merge_sites),
    ]
