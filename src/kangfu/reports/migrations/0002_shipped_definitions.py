"""The report definitions a city needs, shipped as data: a province changes them by publishing a new
version (admin or `kangfu reports define`), never by editing code. Each column names a measure of
`kangfu.reports.measures`; `test_shipped_definitions_name_only_known_measures` holds them to it."""

from django.db import migrations

SERVICE_TYPES = [
    ("medication", "服药训练"),
    ("relapse", "预防复发训练"),
    ("physical", "躯体管理训练"),
    ("living", "生活技能训练"),
    ("social", "社交能力训练"),
    ("vocational", "职业康复训练"),
    ("psychological", "心理康复"),
    ("peer", "同伴支持"),
    ("family", "家庭支持"),
]

SHIPPED = [
    {
        "code": "subsidy-monthly",
        "name": "困难残疾人生活补贴和重度残疾人护理补贴月报表",
        "period": "month",
        "rows": "region",
        "due_day": 5,
        "city_due_day": 10,
        "note": "两项补贴月度统计：发放人数和金额（按补贴类别）、新增、停发、追回，覆盖率、发放率、建档完成率。",
        "columns": [
            {"measure": "subsidy.recipients.living", "label": "生活补贴人数"},
            {"measure": "subsidy.paid.living", "label": "生活补贴金额（元）"},
            {"measure": "subsidy.recipients.care", "label": "护理补贴人数"},
            {"measure": "subsidy.paid.care", "label": "护理补贴金额（元）"},
            {"measure": "subsidy.new", "label": "新增（人次）"},
            {"measure": "subsidy.stopped", "label": "停发（人次）"},
            {"measure": "subsidy.recovered", "label": "追回金额（元）"},
            {"measure": "subsidy.coverage.living", "label": "生活补贴覆盖率（%）"},
            {"measure": "subsidy.coverage.care", "label": "护理补贴覆盖率（%）"},
            {"measure": "subsidy.payment_rate", "label": "发放率（%）"},
            {"measure": "subsidy.file_rate", "label": "建档完成率（%）"},
        ],
    },
    {
        "code": "rehab-quarterly",
        "name": "精神障碍社区康复服务季报表",
        "period": "quarter",
        "rows": "unit",
        "due_day": 10,
        "city_due_day": 15,
        "note": "精康融合行动季度统计：在册、接受服务、覆盖率对年度目标、开展服务的区县、各类服务人次。",
        "columns": [
            {"measure": "rehab.registered", "label": "在册人数"},
            {"measure": "rehab.registered_served", "label": "其中接受服务"},
            {"measure": "rehab.coverage", "label": "覆盖率（%）"},
            {"measure": "rehab.target", "label": "年度目标（%）"},
            {"measure": "rehab.served", "label": "接受服务人数"},
            {"measure": "rehab.counties_served", "label": "开展服务的区县数"},
            {"measure": "rehab.county_rate", "label": "区县覆盖率（%）"},
            {"measure": "rehab.activities", "label": "服务活动（次）"},
            {"measure": "rehab.patient_times", "label": "服务患者（人次）"},
            {"measure": "rehab.family_times", "label": "服务家属（人次）"},
            {"measure": "rehab.follow_ups", "label": "完成随访（次）"},
            *(
                {"measure": f"rehab.patient_times.{key}", "label": f"{label}（人次）"}
                for key, label in SERVICE_TYPES
            ),
        ],
    },
    {
        "code": "devices-monthly",
        "name": "康复辅助器具社区租赁月报表",
        "period": "month",
        "rows": "unit",
        "due_day": 5,
        "city_due_day": 10,
        "note": "辅具租赁月度统计：新增租赁、服务人数、期末在租和逾期、归还、租金、补贴和优惠支出、消毒。",
        "columns": [
            {"measure": "devices.rentals_new", "label": "新增租赁（笔）"},
            {"measure": "devices.people_new", "label": "服务人数"},
            {"measure": "devices.on_rent", "label": "期末在租（笔）"},
            {"measure": "devices.returned", "label": "归还（笔）"},
            {"measure": "devices.overdue", "label": "期末逾期（笔）"},
            {"measure": "devices.rent_income", "label": "租金收入（元）"},
            {"measure": "devices.subsidy", "label": "租赁补贴支出（元）"},
            {"measure": "devices.discount", "label": "租金优惠支出（元）"},
            {"measure": "devices.disinfections", "label": "消毒合格（次）"},
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
    Definition.objects.filter(code__in=[d["code"] for d in SHIPPED], version=1, reports__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_reports_and_definitions")]

    operations = [migrations.RunPython(load, unload)]
