import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0008_auditentry_request_id")]

    operations = [
        migrations.CreateModel(
            name="WorkerHeartbeat",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("worker_id", models.CharField(max_length=64, unique=True, verbose_name="工作进程编号")),
                ("host", models.CharField(blank=True, max_length=255, verbose_name="主机")),
                ("pid", models.PositiveIntegerField(blank=True, null=True, verbose_name="进程号")),
                (
                    "started_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="启动时间"),
                ),
                (
                    "seen_at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, verbose_name="最近心跳"
                    ),
                ),
            ],
            options={"verbose_name": "后台任务进程", "verbose_name_plural": "后台任务进程"},
        ),
    ]
