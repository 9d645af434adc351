"""Assessment scales, submitted assessments (never edited, only amended) and each case's outcome."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Organisation, Region
from kangfu.rehab.models.cases import Case

USER = settings.AUTH_USER_MODEL


class Scale(models.Model):
    """A versioned assessment scale, loaded from `rehab/scales/*.toml`; never edited once used."""

    code = models.CharField(max_length=30)
    version = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    definition = models.JSONField()
    local_default = models.BooleanField(default=False)
    is_current = models.BooleanField(default=True)
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "评估量表"
        ordering = ["code", "-version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="rehab_scale_code_version")]

    def __str__(self) -> str:
        return f"{self.name}（第 {self.version} 版）"


class Outcome(models.TextChoices):
    IMPROVED = "improved", "改善"
    UNCHANGED = "unchanged", "无变化"
    WORSE = "worse", "变差"


class Assessment(models.Model):
    """A submitted assessment: the answers as given and the score the server computed. Never edited;
    a correction is a new row that `amends` it, and the original stays."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="assessments")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    scale = models.ForeignKey(Scale, on_delete=models.PROTECT, related_name="+")
    assessed_on = models.DateField("评估日期")
    informant = models.CharField("信息提供者", max_length=50, blank=True)
    answers = models.JSONField()
    total = models.DecimalField("总分", max_digits=6, decimal_places=1)
    band = models.CharField("分级", max_length=30)
    band_label = models.CharField("分级", max_length=100)
    is_baseline = models.BooleanField("基线评估", default=False)
    amends = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="amended_by"
    )
    amend_reason = models.CharField("更正原因", max_length=300, blank=True)
    note = models.TextField("评估意见", blank=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "评估"
        ordering = ["-assessed_on", "-id"]
        indexes = [models.Index(fields=["case", "scale", "assessed_on"], name="rehab_assessment_case_scale")]

    def __str__(self) -> str:
        return f"{self.scale} {self.assessed_on}：{self.total}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("allow_update", False):
            raise ValueError("A submitted assessment is never edited; amend it instead.")
        super().save(*args, **kwargs)


class CaseOutcome(models.Model):
    """Baseline against latest for one case and scale, kept by the assessment services so that the
    statistics count improvement without reading every assessment."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="outcomes")
    institution = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    district = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    scale_code = models.CharField(max_length=30)
    baseline = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="+")
    latest = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "scale_code"], name="rehab_outcome_case_scale")
        ]
        indexes = [
            models.Index(fields=["district", "scale_code", "outcome"], name="rehab_outcome_district"),
            models.Index(fields=["institution", "scale_code", "outcome"], name="rehab_outcome_institution"),
        ]

    def __str__(self) -> str:
        return f"{self.scale_code}：{self.get_outcome_display()}"
