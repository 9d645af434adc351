"""A case (一人一档): one person's service at one institution from referral to discharge, with its
screening contacts, status history and intake interview.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Organisation, Region
from kangfu.people.models import Person
from kangfu.rehab.models.applications import Application

USER = settings.AUTH_USER_MODEL


class ContactMode(models.TextChoices):
    SITE = "site", "到站服务"
    HOME = "home", "入户（居家）"
    PHONE = "phone", "电话"
    VIDEO = "video", "视频"
    WECHAT = "wechat", "微信"


class CaseStatus(models.TextChoices):
    REFERRED = "referred", "已转介待筛查"
    SCREENED = "screened", "已筛查待建档"
    ENROLLED = "enrolled", "已建档"
    ACTIVE = "active", "服务中"
    SUSPENDED = "suspended", "暂停服务"
    DISCHARGED = "discharged", "已结案"
    DECLINED = "declined", "未纳入"


OPEN_CASE_STATES = ("referred", "screened", "enrolled", "active", "suspended")


SERVED_STATES = ("enrolled", "active", "suspended")


class DischargeReason(models.TextChoices):
    RECOVERED = "recovered", "回归社会"
    EMPLOYED = "employed", "实现就业"
    TRANSFERRED = "transferred", "转介其他机构"
    MOVED = "moved", "迁出"
    DECEASED = "deceased", "死亡"
    WITHDREW = "withdrew", "本人或监护人退出"
    HOSPITALISED = "hospitalised", "长期住院"
    OTHER = "other", "其他"


class DeclineReason(models.TextChoices):
    UNWILLING = "unwilling", "本人或监护人不愿参加"
    UNSUITABLE = "unsuitable", "病情不适合社区康复"
    UNREACHABLE = "unreachable", "多次联系不上"
    SERVED_ELSEWHERE = "elsewhere", "已在其他机构接受服务"
    OTHER = "other", "其他"


class Stability(models.TextChoices):
    STABLE = "stable", "稳定"
    BASIC = "basic", "基本稳定"
    UNSTABLE = "unstable", "不稳定"


class Case(models.Model):
    """One person's service at one institution, from referral to discharge (一人一档)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="rehab_cases")
    institution = models.ForeignKey(
        Organisation, verbose_name="服务机构", on_delete=models.PROTECT, related_name="+"
    )
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    status = models.CharField("状态", max_length=12, choices=CaseStatus.choices, default=CaseStatus.REFERRED)
    referred_on = models.DateField("转介日期")
    # screening
    eligible = models.BooleanField("适合社区康复", null=True)
    screening_note = models.CharField("筛查结论说明", max_length=300, blank=True)
    screened_on = models.DateField("筛查日期", null=True, blank=True)
    decline_reason = models.CharField("未纳入原因", max_length=12, choices=DeclineReason.choices, blank=True)
    # enrolment (登记建档) and the signed agreement
    site = models.ForeignKey(
        Organisation,
        verbose_name="服务站点",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    worker = models.ForeignKey(
        USER, verbose_name="责任社工", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    enrolled_on = models.DateField("建档日期", null=True, blank=True)
    rights_explained_on = models.DateField("告知服务内容和权利义务日期", null=True, blank=True)
    agreement_signed_on = models.DateField("协议签订日期", null=True, blank=True)
    agreement_signer = models.CharField("协议签署人", max_length=10, blank=True)
    agreement_guardian = models.CharField("签署监护人", max_length=50, blank=True)
    agreement_scan = models.FileField("协议扫描件", upload_to="rehab/agreements/%Y/", blank=True)
    # 基本情况登记表
    diagnosis = models.CharField("诊断", max_length=100, blank=True)
    diagnosis_code = models.CharField("诊断编码（ICD-10）", max_length=10, blank=True)
    onset_year = models.PositiveSmallIntegerField("首次发病年份", null=True, blank=True)
    hospitalisations = models.PositiveSmallIntegerField("既往住院次数", null=True, blank=True)
    medication = models.CharField("目前用药", max_length=200, blank=True)
    treating_hospital = models.CharField("就诊医院", max_length=100, blank=True)
    living_arrangement = models.CharField("居住情况", max_length=50, blank=True)
    education = models.CharField("文化程度", max_length=20, blank=True)
    marital_status = models.CharField("婚姻状况", max_length=10, blank=True)
    employment = models.CharField("就业状况", max_length=20, blank=True)
    economic_status = models.CharField("经济状况", max_length=50, blank=True)
    # follow-up state, kept by the follow-up service for the due-and-overdue worklist
    stability = models.CharField("病情稳定性", max_length=10, choices=Stability.choices, blank=True)
    risk_level = models.PositiveSmallIntegerField("危险性等级", null=True, blank=True)
    next_follow_up_on = models.DateField("下次随访日期", null=True, blank=True)
    plan_review_on = models.DateField("计划复评日期", null=True, blank=True)
    last_service_on = models.DateField("最近服务日期", null=True, blank=True)
    # The district whose roster names the person (their RegisteredPerson's): coverage counts a served
    # person in that district's numerator, the district of its denominator, wherever they are served.
    roster_district = models.ForeignKey(
        Region,
        verbose_name="在册区",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # ending
    suspended_on = models.DateField("暂停日期", null=True, blank=True)
    discharged_on = models.DateField("结案日期", null=True, blank=True)
    discharge_reason = models.CharField(
        "结案原因", max_length=15, choices=DischargeReason.choices, blank=True
    )
    status_note = models.CharField("状态说明", max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "康复服务档案"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "institution"],
                condition=models.Q(status__in=OPEN_CASE_STATES),
                name="rehab_case_one_open_per_institution",
            ),
            # 一人一档: one institution serves a person at a time; a transfer hands over at enrolment.
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status__in=SERVED_STATES),
                name="rehab_case_one_served_per_person",
            ),
            models.CheckConstraint(
                condition=models.Q(risk_level__isnull=True) | models.Q(risk_level__lte=5),
                name="rehab_case_risk_0_5",
            ),
        ]
        indexes = [
            models.Index(fields=["institution", "status", "-id"], name="rehab_case_inst_status"),
            # Covers the statistics' follow-up and coverage aggregate of a district or a city.
            models.Index(
                fields=["district", "status", "next_follow_up_on", "last_service_on", "person"],
                name="rehab_case_district_pass",
            ),
            models.Index(fields=["institution", "next_follow_up_on"], name="rehab_case_followup_due"),
            models.Index(fields=["roster_district", "status", "last_service_on"], name="rehab_case_covered"),
            models.Index(fields=["person", "status"], name="rehab_case_person"),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.institution}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CASE_STATES

    @property
    def is_served(self) -> bool:
        return self.status in SERVED_STATES


class ScreeningContact(models.Model):
    """One attempt to reach a referred person: how, whether they and the guardian are willing."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contacts")
    contacted_on = models.DateField("联系日期")
    mode = models.CharField("方式", max_length=10, choices=ContactMode.choices)
    reached = models.BooleanField("联系上", default=True)
    person_willing = models.BooleanField("本人愿意参加", null=True)
    guardian_willing = models.BooleanField("监护人愿意参加", null=True)
    note = models.CharField("情况记录", max_length=500, blank=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "筛查联系记录"
        ordering = ["-contacted_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} {self.contacted_on}"


class CaseEvent(models.Model):
    """The status history of a case: every move with its date, reason and who made it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=12, choices=CaseStatus.choices)
    on = models.DateField()
    reason = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["on", "id"]

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.on}"


class Intake(models.Model):
    """The intake interview with the person and guardian (入组面谈)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="intake")
    interviewed_on = models.DateField("面谈日期")
    mental_health = models.TextField("目前精神状况")
    physical_health = models.TextField("身体健康状况")
    family_structure = models.TextField("家庭结构")
    living_environment = models.TextField("居住环境")
    growth_history = models.TextField("成长经历")
    interests = models.TextField("兴趣爱好")
    guardian_view = models.TextField("监护人意见", blank=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "入组面谈"

    def __str__(self) -> str:
        return f"入组面谈 {self.interviewed_on}"
