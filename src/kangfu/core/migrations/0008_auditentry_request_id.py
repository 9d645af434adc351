from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0007_public_attempts")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="request_id",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="请求编号"),
        ),
    ]
