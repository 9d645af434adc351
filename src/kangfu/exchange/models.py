"""Exchange out: declared layouts of the files other systems of record import, and the batches
(the send log) generated in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Region

USER = settings.AUTH_USER_MODEL


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel（XLSX）"


class Encoding(models.TextChoices):
    UTF8 = "utf-8", "UTF-8"
    UTF8_BOM = "utf-8-sig", "UTF-8（带 BOM）"
    GBK = "gbk", "GBK"
    GB18030 = "gb18030", "GB18030"


class Layout(models.Model):
    """One version of a receiving system's file layout, kept as data (`kangfu exchange define FILE`):
    a change is a new version, and the batches made under an old one keep it."""

    code = models.SlugField("代码", max_length=40)
    version = models.PositiveIntegerField("版本", default=1)
    name = models.CharField("名称", max_length=100)
    system = models.CharField("接收系统", max_length=100)
    source = models.CharField("数据来源", max_length=40)
    file_format = models.CharField("文件格式", max_length=4, choices=FileFormat.choices)
    encoding = models.CharField("编码", max_length=10, choices=Encoding.choices, default=Encoding.UTF8)
    delimiter = models.CharField("分隔符", max_length=1, default=",")
    filename = models.CharField("文件名格式", max_length=120)
    day_of_month = models.PositiveSmallIntegerField(
        "每月自动生成日", null=True, blank=True, help_text="每月的这一天生成上月的文件；空为只按需生成。"
    )
    # [{"header", "field", "date", "money", "codes": {our value: their code}}, …], validated.
    columns = models.JSONField("列")
    text = models.TextField("定义原文")
    digest = models.CharField(max_length=64, editable=False)
    is_current = models.BooleanField("当前版本", default=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "交换文件格式"
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="exchange_layout_code_version"),
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(is_current=True), name="exchange_layout_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（第 {self.version} 版）"


class BatchStatus(models.TextChoices):
    QUEUED = "queued", "生成中"
    GENERATED = "generated", "已生成"
    FAILED = "failed", "生成失败"
    SENT = "sent", "已报送"
    ACKNOWLEDGED = "acknowledged", "对方已接收"


class Batch(models.Model):
    """One file of one layout for one region and month: the send log. A regenerated month keeps the
    old batch (marked replaced), so what was sent can always be shown."""

    layout = models.ForeignKey(Layout, on_delete=models.PROTECT, related_name="batches")
    # The layout's code, repeated so that "one live batch per layout, region and month" is a constraint
    # across versions.
    code = models.SlugField(max_length=40, editable=False)
    region = models.ForeignKey(Region, verbose_name="区划", on_delete=models.PROTECT, related_name="+")
    period = models.DateField("月份")
    status = models.CharField("状态", max_length=12, choices=BatchStatus.choices, default=BatchStatus.QUEUED)
    replaced = models.BooleanField("已被重新生成的批次取代", default=False)
    row_count = models.PositiveIntegerField("行数", default=0)
    progress = models.PositiveIntegerField("已写行数", default=0)
    # Changes recorded after this instant (for an earlier month) go into this batch: what changed
    # since the last batch of the layout, region and month before.
    since = models.DateTimeField("上一批次生成时间", null=True, blank=True)
    file = models.FileField("文件", upload_to="exchange/%Y/%m/", blank=True, max_length=200)
    filename = models.CharField("文件名", max_length=150, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    error = models.CharField("未生成的原因", max_length=500, blank=True)
    requested_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="发起人"
    )
    requested_at = models.DateTimeField("发起时间", default=timezone.now, editable=False)
    generated_at = models.DateTimeField("生成时间", null=True, blank=True)
    sent_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField("报送时间", null=True, blank=True)
    acknowledged_at = models.DateTimeField("对方接收时间", null=True, blank=True)
    note = models.CharField("说明", max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "交换批次"
        ordering = ["-period", "-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "region", "period"],
                condition=models.Q(replaced=False),
                name="exchange_batch_once_per_region_month",
            )
        ]
        indexes = [models.Index(fields=["region", "-period"], name="exchange_batch_region_period")]

    def __str__(self) -> str:
        return f"{self.layout.name} {self.period:%Y-%m}"
