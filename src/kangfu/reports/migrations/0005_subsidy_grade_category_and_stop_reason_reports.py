"""Two monthly 两项补贴 reports a city hands up besides the monthly statistics: recipients and money by
残疾等级 and by 残疾类别 (one definition each: a definition has one kind of row, and a table whose rows
were grades and then categories would count everyone twice in its total), and the stops by reason.
Published as new definitions; a code a province has already used is left as it made it."""

from django.db import migrations

# Recipients and money, as the level above tabulates them by grade and category; the rates stay in
# the monthly report (by grade they would double what generating these two costs: 应发 and 实发 read
# every grant's periods).
BY_KIND = [
    {"measure": "subsidy.recipients.living", "label": "生活补贴人数"},
    {"measure": "subsidy.paid.living", "label": "生活补贴金额（元）"},
    {"measure": "subsidy.recipients.care", "label": "护理补贴人数"},
    {"measure": "subsidy.paid.care", "label": "护理补贴金额（元）"},
    {"measure": "subsidy.new", "label": "新增（人次）"},
    {"measure": "subsidy.stopped", "label": "停发（人次）"},
    {"measure": "subsidy.recovered", "label": "追回金额（元）"},
]

SHIPPED = [
    {
        "code": "subsidy-by-grade",
        "name": "两项补贴分等级分类别统计表（按残疾等级）",
        "period": "month",
        "rows": "disability_grade",
        "due_day": 5,
        "city_due_day": 10,
        "note": "两项补贴按残疾等级（一级至四级）统计的发放人数和金额（按补贴类别）、新增、停发、追回；"
        "等级以当月发放期间记载的为准。",
        "columns": BY_KIND,
    },
    {
        "code": "subsidy-by-category",
        "name": "两项补贴分等级分类别统计表（按残疾类别）",
        "period": "month",
        "rows": "disability_category",
        "due_day": 5,
        "city_due_day": 10,
        "note": "两项补贴按残疾类别（视力、听力、言语、肢体、智力、精神、多重）统计的发放人数和金额（按补贴类别）、"
        "新增、停发、追回；类别以当月发放期间记载的为准。",
        "columns": BY_KIND,
    },
    {
        "code": "subsidy-stop-reasons",
        "name": "两项补贴停发原因统计表",
        "period": "month",
        "rows": "stop_reason",
        "due_day": 5,
        "city_due_day": 10,
        "note": "本月生效的两项补贴停发，按停发原因和补贴类别统计（一项补贴计一次）。",
        "columns": [
            {"measure": "subsidy.stopped.living", "label": "生活补贴停发（人次）"},
            {"measure": "subsidy.stopped.care", "label": "护理补贴停发（人次）"},
            {"measure": "subsidy.stopped", "label": "合计（人次）"},
        ],
    },
]


def load(apps, schema_editor):
    Definition = apps.get_model("reports", "ReportDefinition")
    for data in SHIPPED:
        if not Definition.objects.filter(code=data["code"]).exists():
            Definition.objects.create(version=1, **data)


def unload(apps, schema_editor):
    Definition = apps.get_model("reports", "ReportDefinition")
    Definition.objects.filter(
        code__in=[d["code"] for d in SHIPPED], version=1, created_by__isnull=True, reports__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_row_dimensions_grade_category_stop_reason")]

    operations = [migrations.RunPython(load, unload)]
