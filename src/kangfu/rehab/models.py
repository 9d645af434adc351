"""精康融合行动: community mental-health rehabilitation.

A person comes in as an application (本人/医疗机构/其他) or from one of the two rosters civil affairs
receives (卫健's 严重精神障碍 list, 残联's 精神残疾 certificates). Civil affairs registers the application
and refers it to an institution, which opens a case: screening contacts, an eligibility decision,
enrolment with a signed agreement, an intake interview, assessments, versioned plans, services,
follow-ups, referrals to other institutions and vocational placements, until discharge.

Cases, assessments, plans, follow-ups and intake notes are clinical data: `rehab.access` decides who
sees them. Rows carry the district of the serving institution so reports scope and partition by it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Organisation, Region
from kangfu.people.models import Person

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


class ContactMode(models.TextChoices):
    SITE = "site", "到站服务"
    HOME = "home", "入户（居家）"
    PHONE = "phone", "电话"
    VIDEO = "video", "视频"
    WECHAT = "wechat", "微信"


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

    class Meta:
        verbose_name = verbose_name_plural = "专业人员"
        ordering = ["organisation_id", "name"]

    def __str__(self) -> str:
        return self.name


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


# ------------------------------------------------------------------ referral in


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


class RegisteredPerson(models.Model):
    """A person on a district's 卫健 or 残联 roster (在册): the denominator of the coverage targets.
    One row per person, kept by the roster import and by rejections, so that counting a city's
    registered people is a range count on an index and not a DISTINCT over every application."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    source = models.CharField("名单来源", max_length=20, choices=ApplicationSource.choices)
    listed_on = models.DateField("名单日期")

    class Meta:
        verbose_name = verbose_name_plural = "在册人员"
        indexes = [models.Index(fields=["district"], name="rehab_registered_district")]

    def __str__(self) -> str:
        return f"{self.person_id} · {self.get_source_display()}"


class RosterStatus(models.TextChoices):
    PREVIEW = "preview", "待确认"
    CONFIRMED = "confirmed", "已导入"
    DISCARDED = "discarded", "已放弃"


class RosterImport(models.Model):
    """A roster file from 卫健 or 残联: read, reported line by line, and imported only when confirmed.
    The same file (by its digest) is recognised and never imported twice."""

    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    source = models.CharField("名单来源", max_length=20, choices=ApplicationSource.choices)
    file_name = models.CharField("文件名", max_length=200)
    digest = models.CharField(max_length=64)
    content = models.BinaryField()
    received_on = models.DateField("收到日期")
    status = models.CharField(
        "状态", max_length=10, choices=RosterStatus.choices, default=RosterStatus.PREVIEW
    )
    total = models.PositiveIntegerField("总行数", default=0)
    report = models.JSONField("逐行报告", default=dict)
    result = models.JSONField("导入结果", default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "名单导入"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["district", "digest"],
                condition=models.Q(status="confirmed"),
                name="rehab_roster_once",
            )
        ]

    def __str__(self) -> str:
        return self.file_name


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


# ------------------------------------------------------------------ assessments


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


# ------------------------------------------------------------------ plans


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


# ------------------------------------------------------------------ services delivered


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


class MonthlyCount(models.Model):
    """Counters for the statistics page, kept in the same transaction as what they count, so the page
    reads a few hundred rows instead of millions of attendances. `kangfu rehab recount` rebuilds them."""

    institution = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField()
    measure = models.CharField(max_length=20)
    key = models.CharField(max_length=20, blank=True, default="")
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "month", "measure", "key"], name="rehab_count_unique"
            )
        ]
        # Covering, so that a city's year of counters is read from the index alone.
        indexes = [
            models.Index(
                fields=["district", "month", "measure", "key", "n"], name="rehab_count_district_cover"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month} {self.measure}:{self.key}={self.n}"


class OutcomeCount(models.Model):
    """How many cases of an institution stand improved, unchanged or worse on a scale now, kept with
    `CaseOutcome` (baseline against latest) so that a city's page does not group every case's outcome."""

    institution = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    scale_code = models.CharField(max_length=30)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "scale_code", "outcome"], name="rehab_outcome_count_unique"
            )
        ]
        indexes = [models.Index(fields=["district"], name="rehab_outcome_count_district")]

    def __str__(self) -> str:
        return f"{self.scale_code}:{self.outcome}={self.n}"


# ------------------------------------------------------------------ follow-ups


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


# ------------------------------------------------------------------ referrals between institutions


class TransferKind(models.TextChoices):
    HOSPITAL_TO_COMMUNITY = "h2c", "医院转社区康复"
    RELAPSE = "relapse", "复发转医院"
    TO_EMPLOYMENT = "employment", "转介就业"
    EMPLOYMENT_BACK = "back", "就业转回社区康复"
    BETWEEN_INSTITUTIONS = "between", "机构间转介"


class TransferState(models.TextChoices):
    SENT = "sent", "待接收"
    ACCEPTED = "accepted", "已接收"
    DECLINED = "declined", "已拒绝"
    COMPLETED = "completed", "已完成"
    CANCELLED = "cancelled", "已撤回"


class SharePart(models.TextChoices):
    REGISTRATION = "registration", "基本情况登记表"
    ASSESSMENTS = "assessments", "评估结果"
    PLAN = "plan", "康复计划"
    FOLLOW_UPS = "follow_ups", "随访记录"
    INTAKE = "intake", "入组面谈"


class Transfer(models.Model):
    """A referral of a person from one institution to another (转介). The receiver sees only the parts
    the sender chose to share, and nothing once it has declined."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="rehab_transfers")
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers_out"
    )
    from_org = models.ForeignKey(
        Organisation, verbose_name="转出机构", on_delete=models.PROTECT, related_name="+"
    )
    to_org = models.ForeignKey(
        Organisation, verbose_name="接收机构", on_delete=models.PROTECT, related_name="+"
    )
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField("转介类型", max_length=12, choices=TransferKind.choices)
    employment_type = models.CharField("就业类型", max_length=12, blank=True)
    reason = models.CharField("转介原因", max_length=300)
    shared = models.JSONField("共享内容", default=list, blank=True)
    state = models.CharField("状态", max_length=10, choices=TransferState.choices, default=TransferState.SENT)
    sent_on = models.DateField("发出日期")
    due_on = models.DateField("应答时限")
    answered_on = models.DateField("答复日期", null=True, blank=True)
    decline_reason = models.CharField("拒绝原因", max_length=300, blank=True)
    completed_on = models.DateField("完成日期", null=True, blank=True)
    received_case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="transfers_in"
    )
    sent_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    answered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = verbose_name_plural = "转介"
        ordering = ["-sent_on", "-id"]
        indexes = [
            models.Index(fields=["to_org", "state"], name="rehab_transfer_to_state"),
            models.Index(fields=["from_org", "state"], name="rehab_transfer_from_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.from_org} → {self.to_org}"


class EmploymentType(models.TextChoices):
    SHELTERED = "sheltered", "庇护性就业"
    SUPPORTED = "supported", "辅助性就业"
    OPEN = "open", "普通就业"


class PlacementOutcome(models.TextChoices):
    ONGOING = "ongoing", "在岗"
    COMPLETED = "completed", "期满"
    LEFT = "left", "离职"
    RELAPSED = "relapsed", "复发中止"


class Placement(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="placements")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    employer = models.CharField("就业单位", max_length=100)
    employment_type = models.CharField("就业类型", max_length=12, choices=EmploymentType.choices)
    job = models.CharField("岗位", max_length=50)
    starts_on = models.DateField("上岗日期")
    ends_on = models.DateField("结束日期", null=True, blank=True)
    monthly_subsidy = models.DecimalField("岗位补贴（元/月）", max_digits=8, decimal_places=2, default=0)
    outcome = models.CharField(
        "结果", max_length=10, choices=PlacementOutcome.choices, default=PlacementOutcome.ONGOING
    )
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "就业安置"
        ordering = ["-starts_on", "-id"]
        indexes = [
            models.Index(fields=["district", "outcome", "employment_type"], name="rehab_placement_district")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_subsidy__gte=0), name="rehab_placement_subsidy_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="rehab_placement_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employer} {self.job}"


# ------------------------------------------------------------------ break the glass


class EmergencyAccess(models.Model):
    """A clinician opened a record outside their scope in an emergency, stating why. Valid for a few
    hours, audited, and listed to the serving institution."""

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("紧急查阅理由", max_length=300)
    opened_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = verbose_name_plural = "紧急查阅"
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["user", "person", "expires_at"], name="rehab_emergency_lookup")]

    def __str__(self) -> str:
        return f"{self.user} → {self.person_id} {self.opened_at:%Y-%m-%d %H:%M}"


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)
