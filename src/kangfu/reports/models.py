"""Reports as data: a definition names rows, columns (measures) and a period; a report is one unit's
figures for one period, one version of them, frozen when submitted."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Region

USER = settings.AUTH_USER_MODEL


class PeriodKind(models.TextChoices):
    MONTH = "month", "月报"
    QUARTER = "quarter", "季报"
    YEAR = "year", "年报"


class RowDimension(models.TextChoices):
    """What a report's rows are. `region`: the regions one level below the reporting unit (a
    district's streets); `unit`: the reporting unit itself (one row; a city's aggregate has a row per
    district); the others: categories the measures can be grouped by. `disability_grade` and
    `disability_category` are those of the grant's period in force in the month counted (a regrade
    moves a recipient between rows from its month); `stop_reason` is the reason a stop recorded."""

    REGION = "region", "下级区划"
    UNIT = "unit", "填报单位"
    SERVICE_TYPE = "service_type", "精康服务类型"
    SUBSIDY_KIND = "subsidy_kind", "补贴类别"
    DISABILITY_GRADE = "disability_grade", "残疾等级"
    DISABILITY_CATEGORY = "disability_category", "残疾类别"
    STOP_REASON = "stop_reason", "停发原因"


class ReportDefinition(models.Model):
    """One version of a report's layout, kept as data so that a province adds or changes a report
    without code (admin or `kangfu reports define FILE`). A change is a new version; the reports made
    under an old one keep it (and a copy of it in their snapshot)."""

    code = models.SlugField("代码", max_length=40)
    version = models.PositiveIntegerField("版本", default=1)
    name = models.CharField("报表名称", max_length=100)
    period = models.CharField("报送周期", max_length=10, choices=PeriodKind.choices)
    rows = models.CharField("行", max_length=20, choices=RowDimension.choices)
    # [{"measure": "subsidy.recipients.living", "label": "生活补贴人数"}, …]; the label is optional.
    columns = models.JSONField("列（指标）")
    due_day = models.PositiveSmallIntegerField(
        "区级报送截止日", default=5, help_text="报告期结束后下月的第几日前报送。"
    )
    city_due_day = models.PositiveSmallIntegerField("市级报送截止日", default=10)
    note = models.CharField("说明", max_length=300, blank=True)
    is_active = models.BooleanField("启用", default=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "报表定义"
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="reports_definition_code_version")
        ]

    def __str__(self) -> str:
        return f"{self.name}（第 {self.version} 版）"


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "待上报"
    SUBMITTED = "submitted", "已上报"
    RETURNED = "returned", "已退回"


class Report(models.Model):
    """One version of a unit's report for a period. Drafts may be regenerated; a submitted version is
    never changed again (save its return): a correction is the next version, with its reason."""

    definition = models.ForeignKey(ReportDefinition, on_delete=models.PROTECT, related_name="reports")
    # The definition's code, so that every version of a unit's report is found whatever its
    # definition's version.
    code = models.SlugField(max_length=40)
    unit = models.ForeignKey(Region, verbose_name="填报单位", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField("报告期")
    version = models.PositiveIntegerField("版本", default=1)
    status = models.CharField("状态", max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    # The frozen figures: the layout used, each row's values (with the parts of every rate, so a
    # level above can add them up) and the total. See services.report_generate.
    figures = models.JSONField("数据", default=dict)
    note = models.CharField("填报说明", max_length=500, blank=True)
    correction_reason = models.CharField("更正原因", max_length=300, blank=True)
    due_on = models.DateField("报送截止日")
    generated_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    generated_at = models.DateTimeField("生成时间", default=timezone.now)
    submitted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField("上报时间", null=True, blank=True)
    returned_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    returned_at = models.DateTimeField("退回时间", null=True, blank=True)
    return_reason = models.CharField("退回原因", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "报表"
        ordering = ["code", "unit", "-period_start", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "unit", "period_start", "version"], name="reports_report_version_unique"
            ),
            # One draft at a time: two clicks on 生成 cannot make two.
            models.UniqueConstraint(
                fields=["code", "unit", "period_start"],
                condition=models.Q(status="draft"),
                name="reports_report_one_draft",
            ),
        ]
        indexes = [models.Index(fields=["code", "period_start", "unit"], name="reports_report_period")]

    def __str__(self) -> str:
        return f"{self.definition.name} {self.unit_id} {self.period_start:%Y-%m} v{self.version}"

    @property
    def is_late(self) -> bool:
        return self.submitted_at is not None and timezone.localdate(self.submitted_at) > self.due_on


class GenerationStatus(models.TextChoices):
    QUEUED = "queued", "正在生成"
    DONE = "done", "已生成"
    FAILED = "failed", "未生成"


class Generation(models.Model):
    """A unit's request to generate (or correct) its report for a period, worked by a background task:
    a district's measures read a month or a quarter of the services' records, too long for a web
    request at a city's size. One at a time per report and period: a second click finds the first."""

    code = models.SlugField(max_length=40)
    unit = models.ForeignKey(Region, verbose_name="填报单位", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField("报告期")
    correction_reason = models.CharField("更正原因", max_length=300, blank=True)
    requested_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField("提交时间", default=timezone.now)
    status = models.CharField(
        "状态", max_length=10, choices=GenerationStatus.choices, default=GenerationStatus.QUEUED
    )
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.CharField("未生成的原因", max_length=500, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "报表生成"
        verbose_name_plural = "报表生成"
        constraints = [
            models.UniqueConstraint(
                fields=["code", "unit", "period_start"],
                condition=models.Q(status="queued"),
                name="reports_generation_one_queued",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.unit_id} {self.period_start:%Y-%m}（{self.get_status_display()}）"
