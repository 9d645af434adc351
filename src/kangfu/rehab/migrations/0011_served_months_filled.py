"""Mark the months in which each person was served, from the attendances and follow-ups already held:
one INSERT … SELECT (a city's ten million attendances in one statement, no row through Python)."""

from django.db import migrations


def _month(vendor: str, day: str) -> str:
    if vendor == "postgresql":
        return f"CAST(date_trunc('month', {day}) AS date)"
    return f"date({day}, 'start of month')"


def fill(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute(
        "INSERT INTO rehab_servedmonth (person_id, month, institution_id, district_id) "  # noqa: S608 (fixed text)
        f"SELECT c.person_id, {_month(vendor, 'a.held_on')}, c.institution_id, c.district_id"
        " FROM rehab_attendance t JOIN rehab_activity a ON a.id = t.activity_id"
        " JOIN rehab_case c ON c.id = t.case_id WHERE NOT t.is_family"
        " UNION "
        f"SELECT c.person_id, {_month(vendor, 'f.done_on')}, c.institution_id, c.district_id"
        " FROM rehab_followup f JOIN rehab_case c ON c.id = f.case_id"
    )


def empty(apps, schema_editor):
    apps.get_model("rehab", "ServedMonth").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("rehab", "0010_served_months")]

    operations = [migrations.RunPython(fill, empty)]
