"""Scored standards held as data (考核标准, 验收标准) and the acceptance (验收) of contracts by them.

A standard's items live in versions, like the supervision checklists: a version that has been used
(an acceptance scored on it, or a year it governed begun) stays as it was, and a change makes a new
version. The yearly assessment uses, for a year, the newest version of the assessment standard whose
`year_from` is not after it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from kangfu.core.models import Region

USER = settings.AUTH_USER_MODEL


class StandardPurpose(models.TextChoices):
    ASSESSMENT = "assessment", "年度考核"
    ACCEPTANCE = "acceptance", "合同验收"


class ItemKind(models.TextChoices):
    AUTO = "auto", "自动指标"
    SCORE = "score", "评分"


class Standard(models.Model):
    code = models.SlugField("代码", max_length=30, unique=True)
    name = models.CharField("名称", max_length=100)
    purpose = models.CharField("用途", max_length=12, choices=StandardPurpose.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "考核验收标准"
        ordering = ["purpose", "code"]

    def __str__(self) -> str:
        return self.name


class StandardVersion(models.Model):
    """One version of a standard: its items, the year from which it governs the yearly assessment,
    and (for acceptance) the scores at which a contract passes or passes after rectification."""

    standard = models.ForeignKey(Standard, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveSmallIntegerField("版本")
    is_current = models.BooleanField("现行", default=True)
    year_from = models.PositiveSmallIntegerField("起用年度")
    pass_score = models.DecimalField("通过分数线", max_digits=5, decimal_places=1, null=True, blank=True)
    rectify_score = models.DecimalField(
        "整改后通过分数线", max_digits=5, decimal_places=1, null=True, blank=True
    )
    note = models.CharField("修订说明", max_length=200, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "标准版本"
        ordering = ["standard_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["standard", "number"], name="programme_standard_version"),
            models.UniqueConstraint(
                fields=["standard"], condition=Q(is_current=True), name="programme_standard_one_current"
            ),
            models.CheckConstraint(
                condition=Q(pass_score__isnull=True)
                | Q(rectify_score__isnull=True)
                | Q(pass_score__gte=F("rectify_score")),
                name="programme_standard_thresholds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.standard.name}（第{self.number}版）"


class StandardItem(models.Model):
    """An item: an automatic indicator (`indicator` names how it is computed, a percentage) or a score
    (the supervisors' in the assessment, the accepting team's in an acceptance), its range and weight."""

    version = models.ForeignKey(StandardVersion, on_delete=models.PROTECT, related_name="items")
    seq = models.PositiveSmallIntegerField("序号")
    kind = models.CharField("类型", max_length=5, choices=ItemKind.choices)
    indicator = models.CharField("指标代码", max_length=20, blank=True)
    text = models.CharField("内容", max_length=200)
    min_score = models.DecimalField("最低分", max_digits=5, decimal_places=1, default=0)
    max_score = models.DecimalField("最高分", max_digits=5, decimal_places=1)
    weight = models.DecimalField("权重", max_digits=5, decimal_places=2)

    class Meta:
        verbose_name = verbose_name_plural = "标准项目"
        ordering = ["version_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["version", "seq"], name="programme_standard_item_seq"),
            models.CheckConstraint(
                condition=Q(max_score__gt=F("min_score")), name="programme_standard_item_range"
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="programme_standard_item_weight"),
        ]

    def __str__(self) -> str:
        return self.text


class AcceptanceResult(models.TextChoices):
    PASSED = "passed", "通过"
    RECTIFY = "rectify", "整改后通过"
    FAILED = "failed", "不通过"


class AcceptanceStatus(models.TextChoices):
    SCORED = "scored", "待确认"
    CONFIRMED = "confirmed", "已确认"
    RETURNED = "returned", "已退回"


class Acceptance(models.Model):
    """The acceptance of a contract at or after its end, scored on an acceptance standard's version
    and confirmed by a second person (never the one who scored it)."""

    contract = models.ForeignKey("programme.Contract", on_delete=models.PROTECT, related_name="acceptances")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    version = models.ForeignKey(
        StandardVersion, verbose_name="验收标准", on_delete=models.PROTECT, related_name="acceptances"
    )
    accepted_on = models.DateField("验收日期")
    team = models.CharField("验收人员", max_length=200)
    summary = models.TextField("验收意见", blank=True)
    score = models.DecimalField("得分（百分制）", max_digits=5, decimal_places=1)
    result = models.CharField("验收结论", max_length=10, choices=AcceptanceResult.choices)
    status = models.CharField(
        "状态", max_length=10, choices=AcceptanceStatus.choices, default=AcceptanceStatus.SCORED
    )
    scored_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    scored_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField("确认意见", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "合同验收"
        ordering = ["-accepted_on", "-id"]
        constraints = [
            # One live acceptance per contract, whatever two clicks or two people do at once.
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(status__in=["scored", "confirmed"]),
                name="programme_acceptance_one_live",
            ),
        ]
        indexes = [models.Index(fields=["district", "status"], name="programme_acceptance_district")]

    def __str__(self) -> str:
        return f"{self.contract.number} 验收 {self.get_result_display()}"


class AcceptanceScore(models.Model):
    """An item's value in an acceptance: computed (automatic indicators, as counted when scored; None
    when there was nothing to count) or entered by the accepting team."""

    acceptance = models.ForeignKey(Acceptance, on_delete=models.CASCADE, related_name="scores")
    item = models.ForeignKey(StandardItem, on_delete=models.PROTECT, related_name="+")
    value = models.DecimalField("得分", max_digits=5, decimal_places=1, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["acceptance", "item"], name="programme_acceptance_item_once")
        ]

    def __str__(self) -> str:
        return f"{self.item}: {self.value}"
