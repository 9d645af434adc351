"""Applications: the ways in, on their way from civil affairs to an institution."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Organisation, Region
from kangfu.people.models import Person

USER = settings.AUTH_USER_MODEL


class ApplicationSource(models.TextChoices):
    HEALTH_LIST = "health_list", "卫健部门严重精神障碍患者名单"
    FEDERATION_LIST = "federation_list", "残联持证精神残疾人名单"
    SELF = "self", "本人或监护人申请"
    MEDICAL = "medical", "医疗机构转介"
    OTHER = "other", "其他（社区、单位、社会组织、个人）"


ROSTER_SOURCES = (ApplicationSource.HEALTH_LIST, ApplicationSource.FEDERATION_LIST)


class ApplicationState(models.TextChoices):
    RECEIVED = "received", "待初核"
    REGISTERED = "registered", "已登记待转介"
    REFERRED = "referred", "已转介机构"
    REJECTED = "rejected", "初核不符"
    WITHDRAWN = "withdrawn", "已撤回"


OPEN_APPLICATION_STATES = (ApplicationState.RECEIVED, ApplicationState.REGISTERED)


class Application(models.Model):
    """A way in: an application, or a person from a roster, on its way to an institution."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="rehab_applications")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    source = models.CharField("来源", max_length=20, choices=ApplicationSource.choices)
    applicant_name = models.CharField("申请人/转介人", max_length=50, blank=True)
    applicant_org = models.CharField("申请单位", max_length=100, blank=True)
    applicant_phone = models.CharField("申请人电话", max_length=30, blank=True)
    reason = models.CharField("申请事由", max_length=300, blank=True)
    # Clinical: the diagnosis a 卫健 roster carries. Civil affairs registers and refers without seeing
    # it; it only pre-fills the diagnosis of the case the referral opens at the institution.
    roster_diagnosis = models.CharField("名单诊断", max_length=100, blank=True)
    received_on = models.DateField("收到日期")
    check_due = models.DateField("初核登记时限")
    registered_on = models.DateField("登记日期", null=True, blank=True)
    refer_due = models.DateField("转介时限", null=True, blank=True)
    referred_on = models.DateField("转介日期", null=True, blank=True)
    institution = models.ForeignKey(
        Organisation,
        verbose_name="转介机构",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    state = models.CharField(
        "状态", max_length=12, choices=ApplicationState.choices, default=ApplicationState.RECEIVED
    )
    state_note = models.CharField("说明", max_length=200, blank=True)
    roster_digest = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        USER, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        verbose_name = verbose_name_plural = "精康服务申请"
        ordering = ["-received_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(state__in=["received", "registered"]),
                name="rehab_application_one_open_per_person",
            )
        ]
        indexes = [models.Index(fields=["district", "state", "received_on"], name="rehab_app_district_state")]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_source_display()}"
