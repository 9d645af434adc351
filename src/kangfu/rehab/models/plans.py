"""The personal rehabilitation plan, in versions, with its goals and services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.rehab.models.assessments import Assessment
from kangfu.rehab.models.cases import Case
from kangfu.rehab.models.institutions import ServiceType

USER = settings.AUTH_USER_MODEL


class PlanPlace(models.TextChoices):
    SITE = "site", "站点"
    HOME = "home", "居家"


class Plan(models.Model):
    """A version of the personal rehabilitation plan (个性化康复计划); a revision is a new version."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="plans")
    version = models.PositiveSmallIntegerField("版本")
    starts_on = models.DateField("开始日期")
    review_on = models.DateField("复评日期")
    summary = models.TextField("总体目标", blank=True)
    basis = models.ManyToManyField(Assessment, blank=True, related_name="+", verbose_name="依据的评估")
    is_current = models.BooleanField(default=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "康复计划"
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["case", "version"], name="rehab_plan_case_version"),
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(is_current=True), name="rehab_plan_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"康复计划第 {self.version} 版"


class PlanGoal(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="goals")
    problem = models.CharField("评估发现的问题", max_length=200)
    scale_item = models.CharField("对应评估项目", max_length=60, blank=True)
    goal = models.CharField("康复目标", max_length=300)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.goal


class PlanService(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="services")
    service_type = models.CharField("服务类型", max_length=15, choices=ServiceType.choices)
    times = models.PositiveSmallIntegerField("次数")
    per = models.CharField("频次", max_length=5, choices=[("week", "每周"), ("month", "每月")])
    place = models.CharField("地点", max_length=5, choices=PlanPlace.choices)
    worker = models.ForeignKey(
        USER, verbose_name="负责人", null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_service_type_display()} 每{self.get_per_display()[1:]} {self.times} 次"
