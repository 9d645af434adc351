"""The 卫健 and 残联 rosters: the files imported, and the register (在册) of the people they name."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Region
from kangfu.people.models import Person
from kangfu.rehab.models.applications import ApplicationSource

USER = settings.AUTH_USER_MODEL


class RegisteredPerson(models.Model):
    """A person on a district's 卫健 or 残联 roster (在册): the denominator of the coverage targets.
    One row per person, kept by the roster import and by rejections, so that counting a city's
    registered people is a range count on an index and not a DISTINCT over every application."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    source = models.CharField("名单来源", max_length=20, choices=ApplicationSource.choices)
    listed_on = models.DateField("名单日期")

    class Meta:
        verbose_name = verbose_name_plural = "在册人员"
        indexes = [models.Index(fields=["district"], name="rehab_registered_district")]

    def __str__(self) -> str:
        return f"{self.person_id} · {self.get_source_display()}"


class RosterStatus(models.TextChoices):
    PREVIEW = "preview", "待确认"
    CONFIRMED = "confirmed", "已导入"
    DISCARDED = "discarded", "已放弃"


class RosterImport(models.Model):
    """A roster file from 卫健 or 残联: read, reported line by line, and imported only when confirmed.
    The same file (by its digest) is recognised and never imported twice."""

    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    source = models.CharField("名单来源", max_length=20, choices=ApplicationSource.choices)
    file_name = models.CharField("文件名", max_length=200)
    digest = models.CharField(max_length=64)
    content = models.BinaryField()
    received_on = models.DateField("收到日期")
    status = models.CharField(
        "状态", max_length=10, choices=RosterStatus.choices, default=RosterStatus.PREVIEW
    )
    total = models.PositiveIntegerField("总行数", default=0)
    report = models.JSONField("逐行报告", default=dict)
    result = models.JSONField("导入结果", default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "名单导入"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "digest"],
                condition=models.Q(status="confirmed"),
                name="rehab_roster_once",
            )
        ]

    def __str__(self) -> str:
        return self.file_name
