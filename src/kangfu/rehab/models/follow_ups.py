"""Follow-ups (随访)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Region
from kangfu.rehab.models.cases import Case, ContactMode, Stability

USER = settings.AUTH_USER_MODEL


class Adherence(models.TextChoices):
    REGULAR = "regular", "规律"
    INTERMITTENT = "intermittent", "间断"
    NONE = "none", "不服药"


class Insight(models.TextChoices):
    FULL = "full", "自知力完全"
    PARTIAL = "partial", "自知力不全"
    NONE = "none", "自知力缺失"


class FollowUp(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="follow_ups")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    due_on = models.DateField("应随访日期", null=True, blank=True)
    done_on = models.DateField("随访日期")
    mode = models.CharField("方式", max_length=10, choices=ContactMode.choices)
    stability = models.CharField("病情稳定性", max_length=10, choices=Stability.choices)
    risk_level = models.PositiveSmallIntegerField("危险性等级")
    adherence = models.CharField("服药依从性", max_length=15, choices=Adherence.choices)
    insight = models.CharField("自知力", max_length=10, choices=Insight.choices)
    incidents = models.JSONField("肇事肇祸", default=list, blank=True)
    note = models.TextField("随访记录", blank=True)
    next_on = models.DateField("下次随访日期")
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "随访"
        ordering = ["-done_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(risk_level__lte=5), name="rehab_followup_risk_0_5")
        ]
        indexes = [models.Index(fields=["case", "-done_on"], name="rehab_followup_case")]

    def __str__(self) -> str:
        return f"随访 {self.done_on}"
