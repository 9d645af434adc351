"""The register of institutions: their profile, the nine kinds of service, professional staff and their
training.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from kangfu.core.models import Organisation

USER = settings.AUTH_USER_MODEL


class ServiceType(models.TextChoices):
    """The nine kinds of service (seed 002)."""

    MEDICATION = "medication", "服药训练"
    RELAPSE = "relapse", "预防复发训练"
    PHYSICAL = "physical", "躯体管理训练"
    LIVING = "living", "生活技能训练"
    SOCIAL = "social", "社交能力训练"
    VOCATIONAL = "vocational", "职业康复训练"
    PSYCHOLOGICAL = "psychological", "心理康复"
    PEER = "peer", "同伴支持"
    FAMILY = "family", "家庭支持"


class InstitutionLevel(models.TextChoices):
    CITY = "city", "市级"
    DISTRICT = "district", "区级"
    STREET = "street", "街道（乡镇）级"
    COMMUNITY = "community", "社区（村）级"


class InstitutionProfile(models.Model):
    """What the register of institutions says of a rehab institution, site or hospital."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="rehab_profile")
    level = models.CharField("机构层级", max_length=10, choices=InstitutionLevel.choices)
    services = models.JSONField("提供的服务类型", default=list, blank=True)
    capacity = models.PositiveIntegerField("服务容量（人）", default=0)
    opened_on = models.DateField("开始服务日期", null=True, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)
    # 审核人 (the institution's supervisors), named by civil affairs of the district, not by the
    # institution: when there are any, only they decide a plan or a discharge put forward for
    # approval, and a discharge goes through approval. None named: any other worker decides.
    approvers = models.ManyToManyField(USER, verbose_name="审核人（主管）", blank=True, related_name="+")

    class Meta:
        verbose_name = verbose_name_plural = "康复机构登记"

    def __str__(self) -> str:
        return self.organisation.name


class Profession(models.TextChoices):
    SOCIAL_WORKER = "social_worker", "社会工作者"
    THERAPIST = "therapist", "康复治疗师"
    PSYCHIATRIST = "psychiatrist", "精神科医师"
    NURSE = "nurse", "护士"
    COUNSELLOR = "counsellor", "心理咨询师"
    PEER = "peer", "同伴支持员"
    OTHER = "other", "其他"


# A peer supporter's (同伴支持员) yearly training hours. A local choice of this deployment, not a verified
# policy figure: the 20 hours a year (DOMAIN.md) are the professionals' requirement, and no source we
# hold sets one for peer supporters, who train part-time alongside their own recovery.
PEER_TRAINING_HOURS_REQUIRED = Decimal(12)


class StaffMember(models.Model):
    """A qualified worker of an institution; training hours are counted against the yearly requirement."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="rehab_staff")
    user = models.OneToOneField(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="rehab_staff"
    )
    name = models.CharField("姓名", max_length=50)
    profession = models.CharField("专业", max_length=20, choices=Profession.choices)
    certificate = models.CharField("资格证书", max_length=100, blank=True)
    certificate_number = models.CharField("证书编号", max_length=50, blank=True)
    direct_service = models.BooleanField("直接服务人员", default=True)
    joined_on = models.DateField("入职日期", null=True, blank=True)
    left_on = models.DateField("离职日期", null=True, blank=True)
    # A peer supporter is a recovered person: their own case, wherever it is, when the institution
    # chooses to record it. Shown only to those who may see that case.
    own_case = models.ForeignKey(
        "rehab.Case",
        verbose_name="本人康复档案",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "专业人员"
        ordering = ["organisation_id", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_peer(self) -> bool:
        return self.profession == Profession.PEER


class Training(models.Model):
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="trainings")
    held_on = models.DateField("培训日期")
    hours = models.DecimalField("学时", max_digits=5, decimal_places=1)
    topic = models.CharField("培训内容", max_length=200)
    provider = models.CharField("培训机构", max_length=100, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "培训记录"
        ordering = ["-held_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(hours__gt=0), name="training_hours_positive")
        ]

    def __str__(self) -> str:
        return f"{self.staff} {self.held_on} {self.hours} 学时"
