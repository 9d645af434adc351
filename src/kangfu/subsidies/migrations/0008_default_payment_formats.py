"""Two payment file formats to start from; banks' own are added in the administration pages."""

from django.db import migrations

FORMATS = [
    (
        "default",
        "通用格式",
        [
            ["序号", "seq"],
            ["姓名", "name"],
            ["身份证号", "id_number"],
            ["开户银行", "bank_name"],
            ["银行账号", "bank_account"],
            ["金额", "amount"],
            ["街道", "street"],
            ["明细编号", "lines"],
        ],
    ),
    (
        "rural-bank",
        "农商银行代发格式",
        [
            ["账号", "bank_account"],
            ["户名", "name"],
            ["金额", "amount"],
            ["证件号码", "id_number"],
            ["摘要", "memo"],
            ["明细编号", "lines"],
        ],
    ),
]


def forward(apps, schema_editor):
    PaymentFormat = apps.get_model("subsidies", "PaymentFormat")
    for code, name, columns in FORMATS:
        PaymentFormat.objects.get_or_create(code=code, defaults={"name": name, "columns": columns})


def backward(apps, schema_editor):
    apps.get_model("subsidies", "PaymentFormat").objects.filter(
        code__in=[c for c, _n, _cols in FORMATS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0007_payment_formats")]

    operations = [migrations.RunPython(forward, backward)]
