"""The calendar of month starts the payroll joins on: January 2016 (the subsidies' start) to 2060."""

import datetime as dt

from django.db import migrations


def forward(apps, schema_editor):
    Month = apps.get_model("subsidies", "Month")
    Month.objects.bulk_create(
        [Month(month=dt.date(year, m, 1)) for year in range(2016, 2061) for m in range(1, 13)],
        ignore_conflicts=True,
    )


def backward(apps, schema_editor):
    apps.get_model("subsidies", "Month").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
