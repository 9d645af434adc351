"""The quarterly 精康 report's second version: the direct-service staff and how many met the year's
training hours. Published only over the shipped first version; a definition a province has already
changed is left as it made it."""

from django.db import migrations

STAFF = [
    {"measure": "rehab.staff", "label": "直接服务人员数"},
    {"measure": "rehab.staff_trained", "label": "培训达标人数"},
    {"measure": "rehab.training_rate", "label": "培训达标率（%）"},
]


def publish(apps, schema_editor):
    Definition = apps.get_model("reports", "ReportDefinition")
    latest = Definition.objects.filter(code="rehab-quarterly").order_by("-version").first()
    if latest is None or latest.version != 1 or latest.created_by_id is not None:
        return
    columns = list(latest.columns)
    at = next((i + 1 for i, c in enumerate(columns) if c["measure"] == "rehab.follow_ups"), len(columns))
    Definition.objects.create(
        code=latest.code,
        version=2,
        name=latest.name,
        period=latest.period,
        rows=latest.rows,
        columns=columns[:at] + STAFF + columns[at:],
        due_day=latest.due_day,
        city_due_day=latest.city_due_day,
        note=latest.note + "增加专业人员培训达标情况（年度不少于 20 学时）。",
        is_active=latest.is_active,
    )


def unpublish(apps, schema_editor):
    Definition = apps.get_model("reports", "ReportDefinition")
    Definition.objects.filter(
        code="rehab-quarterly", version=2, created_by__isnull=True, reports__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_shipped_definitions")]

    operations = [migrations.RunPython(publish, unpublish)]
