"""Services delivered: sessions and group activities, their photos and attendance."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Organisation, Region
from kangfu.rehab.models.cases import Case, ContactMode
from kangfu.rehab.models.institutions import ServiceType

USER = settings.AUTH_USER_MODEL


class ActivityForm(models.TextChoices):
    INDIVIDUAL = "individual", "个案服务"
    GROUP = "group", "小组活动"
    CARER_TRAINING = "carer_training", "照护者培训"
    PEER_SUPPORT = "peer_support", "同伴支持活动"
    HEALTH_TALK = "health_talk", "健康讲座"
    COMMUNITY = "community", "社区融合活动"


class Activity(models.Model):
    """A service delivered: one session with one person, or a group activity with attendance."""

    institution = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    site = models.ForeignKey(
        Organisation, verbose_name="站点", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    form = models.CharField("形式", max_length=15, choices=ActivityForm.choices)
    service_type = models.CharField("服务类型", max_length=15, choices=ServiceType.choices)
    mode = models.CharField("方式", max_length=10, choices=ContactMode.choices)
    title = models.CharField("主题", max_length=100)
    held_on = models.DateField("日期")
    place = models.CharField("地点", max_length=100, blank=True)
    leader = models.ForeignKey(
        USER, verbose_name="带领人", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    content = models.TextField("内容", blank=True)
    patients = models.PositiveIntegerField("患者人次", default=0, editable=False)
    family = models.PositiveIntegerField("家属人次", default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "服务活动"
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["institution", "-held_on"], name="rehab_activity_inst_day")]

    def __str__(self) -> str:
        return self.title


class ActivityPhoto(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField("照片", upload_to="rehab/activities/%Y/")
    caption = models.CharField("说明", max_length=100, blank=True)

    def __str__(self) -> str:
        return self.caption or self.image.name


class Attendance(models.Model):
    """A patient at an activity, or a family member of one (counted apart)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendances")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attendances")
    is_family = models.BooleanField("家属", default=False)
    family_name = models.CharField("家属姓名", max_length=50, blank=True)
    family_relation = models.CharField("与患者关系", max_length=20, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "出勤"
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "case"], condition=models.Q(is_family=False), name="rehab_attendance_once"
            )
        ]
        indexes = [models.Index(fields=["case", "activity"], name="rehab_attendance_case")]

    def __str__(self) -> str:
        return f"{self.activity_id}/{self.case_id}"
