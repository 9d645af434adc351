"""The expert bank (专家库) from which supervision teams and trainers are drawn, and the trainings civil
affairs holds for the institutions' staff, with their attendance.

An expert is available only within one of their availability windows; a visit or a training on a day
outside every window is refused. Attendance is written to rehab's staff training record (through
`rehab.services.staff_training`), so the hours count toward the staff's yearly 20 hours and the
statistics' "staff trained" like any other training.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from kangfu.core.models import Region

USER = settings.AUTH_USER_MODEL


class ExpertField(models.TextChoices):
    PSYCHIATRY = "psychiatry", "精神医学"
    PSYCHOLOGY = "psychology", "心理咨询与治疗"
    SOCIAL_WORK = "social_work", "社会工作"
    NURSING = "nursing", "精神科护理"
    REHABILITATION = "rehabilitation", "康复治疗"
    MANAGEMENT = "management", "机构管理"
    FINANCE = "finance", "财务审计"


class ExpertLevel(models.TextChoices):
    NATIONAL = "national", "国家级"
    PROVINCIAL = "provincial", "省级"
    CITY = "city", "市级"
    DISTRICT = "district", "区级"


class Expert(models.Model):
    """An expert of a region's bank (the city's or a district's)."""

    region = models.ForeignKey(Region, verbose_name="所属专家库", on_delete=models.PROTECT, related_name="+")
    name = models.CharField("姓名", max_length=50)
    field = models.CharField("专业领域", max_length=20, choices=ExpertField.choices)
    level = models.CharField("级别", max_length=12, choices=ExpertLevel.choices)
    organisation = models.CharField("工作单位", max_length=100)
    title = models.CharField("职称", max_length=50, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    is_active = models.BooleanField("在库", default=True)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "专家"
        ordering = ["region_id", "field", "name"]
        indexes = [models.Index(fields=["region", "field"], name="programme_expert_region")]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_field_display()}）"


class ExpertWindow(models.Model):
    """A period in which the expert is available to supervise or train."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="windows")
    starts_on = models.DateField("可用开始")
    ends_on = models.DateField("可用结束")
    note = models.CharField("说明", max_length=100, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "专家可用时段"
        ordering = ["expert_id", "starts_on"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="programme_window_period")
        ]

    def __str__(self) -> str:
        return f"{self.starts_on}–{self.ends_on}"


class ProgrammeTraining(models.Model):
    """A training civil affairs holds (with 财政 and 卫健) for the institutions' staff."""

    district = models.ForeignKey(Region, verbose_name="举办区划", on_delete=models.PROTECT, related_name="+")
    held_on = models.DateField("培训日期")
    hours = models.DecimalField("学时", max_digits=4, decimal_places=1)
    topic = models.CharField("培训主题", max_length=200)
    place = models.CharField("地点", max_length=100, blank=True)
    trainers = models.ManyToManyField(Expert, verbose_name="授课专家", related_name="trainings")
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "项目培训"
        ordering = ["-held_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0, hours__lte=24), name="programme_training_hours")
        ]
        indexes = [models.Index(fields=["district", "held_on"], name="programme_training_district")]

    def __str__(self) -> str:
        return f"{self.held_on} {self.topic}"


class TrainingAttendance(models.Model):
    """One member of staff at a training, with the rehab training record that counts their hours."""

    training = models.ForeignKey(ProgrammeTraining, on_delete=models.PROTECT, related_name="attendance")
    staff = models.ForeignKey("rehab.StaffMember", on_delete=models.PROTECT, related_name="+")
    record = models.OneToOneField("rehab.Training", on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "培训签到"
        ordering = ["training_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["training", "staff"], name="programme_attendance_once")
        ]

    def __str__(self) -> str:
        return f"{self.training} {self.staff_id}"
