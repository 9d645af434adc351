"""Holidays and 调休 days of every year the State Council has announced, as `chinese-calendar` ships
them, so that working-day deadlines are right without anyone typing the calendar in.

Years that already have days in the table (typed in before this migration) are left as they are.
"""

from django.db import migrations


def load_days(apps, schema_editor):
    from kangfu.core.workdays import state_council_days_load

    state_council_days_load(apps.get_model("core", "CalendarDay"))


def unload_days(apps, schema_editor):
    # Only the rows still exactly as shipped go: a day an administrator renamed or added stays.
    from kangfu.core.workdays import state_council_days

    CalendarDay = apps.get_model("core", "CalendarDay")
    shipped = state_council_days()
    doomed = [
        row.pk for row in CalendarDay.objects.all() if shipped.get(row.day) == (row.name, row.is_workday)
    ]
    for start in range(0, len(doomed), 500):
        CalendarDay.objects.filter(pk__in=doomed[start : start + 500]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_regions_of_china"),
    ]

    operations = [
        migrations.RunPython(load_days, unload_days),
    ]
