from django.db import migrations, models


class Migration(migrations.Migration):
    """A feed row carries its own kind: 残联's file of every certificate business of the month
    (cert_mixed) stores each row under the kind its 业务类型 names; 换领 and 迁移 are kinds of their own."""

    dependencies = [
        ("matching", "0004_item_references_unchecked"),
    ]

    operations = [
        migrations.AlterField(
            model_name="feedsource",
            name="kind",
            field=models.CharField(
                choices=[
                    ("death", "死亡（公安/卫健）"),
                    ("declared_death", "宣告死亡（法院）"),
                    ("cremation", "火化（殡葬）"),
                    ("prison", "服刑（司法）"),
                    ("release", "刑满释放（司法）"),
                    ("move", "户籍迁移（公安）"),
                    ("cert_new", "残疾人证新增（残联）"),
                    ("cert_cancel", "残疾人证注销（残联）"),
                    ("cert_change", "残疾人证变更（残联）"),
                    ("cert_renew", "残疾人证换领（残联）"),
                    ("cert_transfer", "残疾人证迁移（残联）"),
                    ("cert_mixed", "残疾人证业务（残联，按业务类型）"),
                    ("dibao", "低保名单（民政）"),
                    ("dibao_edge", "低保边缘名单（民政）"),
                    ("tekun", "特困供养名单（民政）"),
                    ("elderly_care", "老年人护理补贴名单"),
                    ("work_injury", "工伤保险生活护理费名单（人社）"),
                    ("care_home", "养老/托养机构入住名单"),
                ],
                max_length=20,
                verbose_name="类别",
            ),
        ),
        migrations.AddField(
            model_name="feedrow",
            name="kind",
            field=models.CharField(
                choices=[
                    ("death", "死亡（公安/卫健）"),
                    ("declared_death", "宣告死亡（法院）"),
                    ("cremation", "火化（殡葬）"),
                    ("prison", "服刑（司法）"),
                    ("release", "刑满释放（司法）"),
                    ("move", "户籍迁移（公安）"),
                    ("cert_new", "残疾人证新增（残联）"),
                    ("cert_cancel", "残疾人证注销（残联）"),
                    ("cert_change", "残疾人证变更（残联）"),
                    ("cert_renew", "残疾人证换领（残联）"),
                    ("cert_transfer", "残疾人证迁移（残联）"),
                    ("cert_mixed", "残疾人证业务（残联，按业务类型）"),
                    ("dibao", "低保名单（民政）"),
                    ("dibao_edge", "低保边缘名单（民政）"),
                    ("tekun", "特困供养名单（民政）"),
                    ("elderly_care", "老年人护理补贴名单"),
                    ("work_injury", "工伤保险生活护理费名单（人社）"),
                    ("care_home", "养老/托养机构入住名单"),
                ],
                default="",
                max_length=20,
                verbose_name="类别",
            ),
            preserve_default=False,
        ),
    ]
