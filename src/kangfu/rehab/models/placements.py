"""Vocational placements (就业安置)."""

from __future__ import annotations

from django.db import models

from kangfu.core.models import Region
from kangfu.rehab.models.cases import Case


class EmploymentType(models.TextChoices):
    SHELTERED = "sheltered", "庇护性就业"
    SUPPORTED = "supported", "辅助性就业"
    OPEN = "open", "普通就业"


class PlacementOutcome(models.TextChoices):
    ONGOING = "ongoing", "在岗"
    COMPLETED = "completed", "期满"
    LEFT = "left", "离职"
    RELAPSED = "relapsed", "复发中止"


class Placement(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="placements")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    employer = models.CharField("就业单位", max_length=100)
    employment_type = models.CharField("就业类型", max_length=12, choices=EmploymentType.choices)
    job = models.CharField("岗位", max_length=50)
    starts_on = models.DateField("上岗日期")
    ends_on = models.DateField("结束日期", null=True, blank=True)
    monthly_subsidy = models.DecimalField("岗位补贴（元/月）", max_digits=8, decimal_places=2, default=0)
    outcome = models.CharField(
        "结果", max_length=10, choices=PlacementOutcome.choices, default=PlacementOutcome.ONGOING
    )
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "就业安置"
        ordering = ["-starts_on", "-id"]
        indexes = [
            models.Index(fields=["district", "outcome", "employment_type"], name="rehab_placement_district")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_subsidy__gte=0), name="rehab_placement_subsidy_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="rehab_placement_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employer} {self.job}"
