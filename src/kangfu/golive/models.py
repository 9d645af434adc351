"""Imports that bring a city's existing records in: one job per uploaded file, with its report."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobStatus(models.TextChoices):
    UPLOADED = "uploaded", "待检查"
    CHECKING = "checking", "检查中"
    PREVIEW = "preview", "待确认"
    APPLYING = "applying", "导入中"
    DONE = "done", "已导入"
    DISCARDED = "discarded", "已放弃"
    FAILED = "failed", "失败"


class ImportJob(models.Model):
    """One file of one kind (people, recipients, payments …): checked line by line into a report,
    then, once confirmed, applied in one transaction. Nothing is stored before the confirmation."""

    kind = models.CharField("类别", max_length=20)
    file = models.FileField("文件", upload_to="imports/%Y/%m/")
    file_name = models.CharField("文件名", max_length=200)
    digest = models.CharField(max_length=64, db_index=True)
    options = models.JSONField("选项", default=dict, blank=True)
    headers = models.JSONField("文件表头", default=list, blank=True)
    header_line = models.PositiveIntegerField("表头所在行", default=0)
    mapping = models.JSONField("列对应", default=dict, blank=True, help_text="{字段: 文件中的表头}")
    status = models.CharField("状态", max_length=10, choices=JobStatus.choices, default=JobStatus.UPLOADED)
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    total_lines = models.PositiveIntegerField("数据行", default=0)
    blank_lines = models.PositiveIntegerField("空行", default=0)
    counts = models.JSONField("新增、变更、未变", default=dict, blank=True)
    error_count = models.PositiveIntegerField("问题行", default=0)
    errors = models.JSONField("问题行（前 2000 行）", default=list, blank=True)
    flags = models.JSONField("提示（导入但需核对）", default=list, blank=True)
    message = models.CharField("说明", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("上传时间", default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "数据导入"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"第 {self.pk} 号导入（{self.file_name}）"


class SavedMapping(models.Model):
    """The column mapping last confirmed for a kind: the next file of that kind is read with it."""

    kind = models.CharField("类别", max_length=20, unique=True)
    mapping = models.JSONField("列对应", default=dict)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    saved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "列对应"

    def __str__(self) -> str:
        return self.kind
