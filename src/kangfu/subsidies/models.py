"""两项补贴: standards, policy, applications and their approval steps, grants, and the monthly payroll.

Months are the first day of the month. Money is Decimal with two places.

How the payroll stays exact: for every grant and month the *entitlement* follows from the grant's
periods (grade, active or suspended) and the standards in force; what was *paid* is the sum of the
grant's lines in locked payrolls that the bank did not fail. A payroll pays the difference for every
month that may differ (the current month, and earlier months from `Grant.recalc_from`): a positive
difference for an earlier month is arrears (补发), a negative one a recovery (追回). Running any
sequence of approvals, standard changes, regrades and stops therefore never pays a month twice and
never loses one.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.fields import EncryptedTextField
from kangfu.core.models import Region
from kangfu.people.models import Person

ZERO = Decimal("0.00")


class Kind(models.TextChoices):
    LIVING = "living", "困难残疾人生活补贴"
    CARE = "care", "重度残疾人护理补贴"


class Month(models.Model):
    """A calendar of month starts (2016-01 on), so payroll SQL can join months on any database."""

    month = models.DateField(primary_key=True)

    class Meta:
        verbose_name = verbose_name_plural = "月份"
        ordering = ["month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"


class Standard(models.Model):
    """The monthly amount of one subsidy kind for a band of grades, in a region, from a month on.

    A district's own standard takes precedence over its city's for the same kind, grade and month."""

    region = models.ForeignKey(Region, verbose_name="适用区划", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("补贴类别", max_length=10, choices=Kind.choices)
    grade_min = models.PositiveSmallIntegerField("残疾等级自")
    grade_max = models.PositiveSmallIntegerField("残疾等级至")
    amount = models.DecimalField("月标准（元）", max_digits=10, decimal_places=2)
    valid_from = models.DateField("起始月份")
    valid_to = models.DateField("截止月份", null=True, blank=True)
    note = models.CharField("依据", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "补贴标准"
        ordering = ["region_id", "kind", "grade_min", "-valid_from"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="standard_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(grade_min__gte=1, grade_max__lte=4, grade_min__lte=models.F("grade_max")),
                name="standard_grades_1_4",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                name="standard_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.grade_min}–{self.grade_max}级 {self.amount} 元"


class PayFrom(models.TextChoices):
    APPLICATION = "application", "申请当月"
    APPROVAL = "approval", "审批当月"


class Policy(models.Model):
    """A city's or district's local choices; a district without its own follows its city's."""

    region = models.OneToOneField(Region, on_delete=models.PROTECT, related_name="subsidy_policy")
    living_income_statuses = models.CharField(
        "生活补贴认可的收入状况",
        max_length=100,
        default="dibao,dibao_edge",
        help_text="逗号分隔：dibao, dibao_edge, tekun",
    )
    care_extra_categories = models.CharField(
        "护理补贴扩展到三、四级的残疾类别",
        max_length=20,
        blank=True,
        default="",
        help_text="如 5,6（智力、精神）",
    )
    pay_from = models.CharField(
        "补贴起始月份", max_length=12, choices=PayFrom.choices, default=PayFrom.APPLICATION
    )
    steps = models.CharField("审批环节", max_length=60, default="community,street,district")
    visits_per_year = models.PositiveSmallIntegerField("每年见面次数", default=2)
    # A new certificate of a higher grade pays from its month, but back-pay stops at this many months
    # before the month it comes to light (DOMAIN.md: up to 3).
    back_pay_months = models.PositiveSmallIntegerField("新证补发月数上限", default=3)

    class Meta:
        verbose_name = verbose_name_plural = "补贴政策"

    def __str__(self) -> str:
        return f"{self.region} 补贴政策"


class BenefitKind(models.TextChoices):
    WORK_INJURY_CARE = "work_injury_care", "工伤保险生活护理费"
    ORPHAN = "orphan", "孤儿基本生活费"
    ELDERLY_CARE = "elderly_care", "老年人护理补贴"
    SAME_NATURE = "same_nature", "其他同类性质补贴（如退役、养老保险护理补助）"


class OtherBenefit(models.Model):
    """An allowance from another scheme that excludes or overlaps the two subsidies."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="other_benefits")
    kind = models.CharField("类别", max_length=20, choices=BenefitKind.choices)
    amount = models.DecimalField("月金额（元）", max_digits=10, decimal_places=2, default=ZERO)
    start_date = models.DateField("起始日期")
    end_date = models.DateField("终止日期", null=True, blank=True)
    source = models.CharField("来源", max_length=100, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "其他补贴"

    def __str__(self) -> str:
        return self.get_kind_display()


class Step(models.TextChoices):
    """The approval chain of 国发〔2015〕52号, in order; a region's policy says which steps it takes."""

    COMMUNITY = "community", "社区受理"
    STREET = "street", "街道审核"
    COUNTY = "county", "县级残联审核"
    DISTRICT = "district", "区民政局审批"


class ApplicationStatus(models.TextChoices):
    """The last step passed (which step comes next depends on the region's chain: `waiting_step`)."""

    SUBMITTED = "submitted", "已提交"
    COMMUNITY_ACCEPTED = "community", "社区已受理"
    STREET_REVIEWED = "street", "街道已审核"
    COUNTY_REVIEWED = "county", "县级残联已审核"
    APPROVED = "approved", "已批准"
    RETURNED = "returned", "退回补正"
    REJECTED = "rejected", "不予批准"


class Channel(models.TextChoices):
    COUNTER = "counter", "窗口受理"
    ONLINE = "online", "全程网办"


class Application(models.Model):
    number = models.CharField("受理编号", max_length=20, unique=True)
    person = models.ForeignKey(
        Person, verbose_name="申请人", on_delete=models.PROTECT, related_name="subsidy_applications"
    )
    living = models.BooleanField("申请生活补贴", default=False)
    care = models.BooleanField("申请护理补贴", default=False)
    channel = models.CharField("渠道", max_length=10, choices=Channel.choices)
    agent_name = models.CharField("代办人", max_length=50, blank=True)
    agent_relation = models.CharField("代办人关系", max_length=20, blank=True)
    phone = EncryptedTextField("联系电话")
    bank_name = models.CharField("开户银行", max_length=50)
    bank_account = EncryptedTextField("银行账号")
    community = models.ForeignKey(
        Region, verbose_name="受理社区（户籍地）", on_delete=models.PROTECT, related_name="+"
    )
    street = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    applied_on = models.DateField("申请日期")
    status = models.CharField(
        "状态", max_length=12, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    # The step the application waits for, set at each decision from the region's chain as it was
    # then: the worklists read it, and a chain changed meanwhile does not strand an application.
    waiting_step = models.CharField("待办环节", max_length=10, choices=Step.choices, blank=True)
    status_note = models.CharField("退回或不予批准原因", max_length=300, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = verbose_name_plural = "补贴申请"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(living=True) | models.Q(care=True), name="application_some_kind"
            ),
            # A second open application for the same person cannot be filed while one is in progress.
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(status__in=["submitted", "community", "street", "county", "returned"]),
                name="application_one_open_per_person",
            ),
        ]
        indexes = [
            models.Index(fields=["district", "status"], name="application_district_status"),
            models.Index(fields=["waiting_step", "district"], name="application_waiting"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def kinds(self) -> list[str]:
        return [k for k, wanted in ((Kind.LIVING, self.living), (Kind.CARE, self.care)) if wanted]


class Document(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField("材料", upload_to="subsidies/%Y/%m/")
    label = models.CharField("材料名称", max_length=100)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "申请材料"

    def __str__(self) -> str:
        return self.label


class Decision(models.TextChoices):
    SUBMIT = "submit", "提交"
    PASS = "pass", "通过"
    RETURN = "return", "退回补正"
    REJECT = "reject", "不予批准"
    RESUBMIT = "resubmit", "补正后重新提交"


class ApplicationStep(models.Model):
    """Who did what at which step of an application, when, with what opinion."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField("环节", max_length=10, choices=Step.choices, blank=True)
    decision = models.CharField("结论", max_length=10, choices=Decision.choices)
    opinion = models.CharField("意见", max_length=300, blank=True)
    eligibility = models.JSONField("资格核验", default=list, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "审批记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_step_display()} {self.get_decision_display()}"


class GrantStatus(models.TextChoices):
    ACTIVE = "active", "发放中"
    SUSPENDED = "suspended", "暂停"
    STOPPED = "stopped", "停发"


class Grant(models.Model):
    """One person's entitlement to one kind of subsidy. The periods say, month by month, at which grade
    it is paid or that it is suspended; the payroll reads only them and the standards."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="subsidy_grants")
    kind = models.CharField("补贴类别", max_length=10, choices=Kind.choices)
    status = models.CharField("状态", max_length=10, choices=GrantStatus.choices, default=GrantStatus.ACTIVE)
    application = models.ForeignKey(
        Application, null=True, blank=True, on_delete=models.SET_NULL, related_name="grants"
    )
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    street = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    start_month = models.DateField("起始月份")
    end_month = models.DateField("停发后最后一个月", null=True, blank=True)
    bank_name = models.CharField("开户银行", max_length=50)
    bank_account = EncryptedTextField("银行账号")
    recalc_from = models.DateField(
        "须重算自", null=True, blank=True, help_text="此月起的各月在下次发放时重新核算。"
    )
    # When the mark was last set: a lock clears only marks its run has seen, so a change committed
    # between a run and its lock is still recalculated next month.
    recalc_marked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A household moved to another district served here: from `moving_from` the grant is paid at
    # `moving_street`. It moves once the old district has locked the month before (payroll_lock), so
    # that month is still paid where it was owed.
    moving_street = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    moving_from = models.DateField("迁往他区发放自", null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "补贴资格"
        constraints = [models.UniqueConstraint(fields=["person", "kind"], name="grant_one_per_person_kind")]
        indexes = [
            models.Index(fields=["district", "status"], name="grant_district_status"),
            models.Index(fields=["district", "recalc_from"], name="grant_district_recalc"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.get_kind_display()}"


class GrantPeriod(models.Model):
    """From a month on (to a month, or open), a grant is paid at a grade, or suspended."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="periods")
    from_month = models.DateField("起始月份")
    to_month = models.DateField("截止月份", null=True, blank=True)
    grade = models.PositiveSmallIntegerField("残疾等级")
    category = models.PositiveSmallIntegerField("残疾类别")
    paid = models.BooleanField("发放", default=True)
    reason = models.CharField("原因", max_length=200)

    class Meta:
        verbose_name = verbose_name_plural = "发放期间"
        ordering = ["from_month", "id"]
        indexes = [models.Index(fields=["grant", "from_month"], name="grant_period_from")]

    def __str__(self) -> str:
        return f"{self.from_month:%Y-%m}–{self.to_month or '':%Y-%m} {self.grade}级"


class ChangeAction(models.TextChoices):
    START = "start", "开始发放"
    REGRADE = "regrade", "等级变更"
    SUSPEND = "suspend", "暂停"
    RESUME = "resume", "恢复"
    STOP = "stop", "停发"
    TRANSFER = "transfer", "迁往本市其他区"


class StopReason(models.TextChoices):
    DEATH = "death", "死亡"
    DECLARED_DEATH = "declared_death", "宣告死亡"
    MISSING = "missing", "宣告失踪"
    PRISON = "prison", "服刑"
    MOVED = "moved", "户籍迁出"
    CERT_EXPIRED = "cert_expired", "残疾人证到期未换"
    CERT_CANCELLED = "cert_cancelled", "残疾人证注销"
    INCOME = "income", "退出低保等"
    REVIEW = "review", "复核不合格或未参加复核"
    FRAUD = "fraud", "提供虚假材料"
    WITHDRAWN = "withdrawn", "本人申请退出"
    OVERLAP = "overlap", "享受同类补贴"
    # 工伤保险生活护理费 or 特困供养: neither subsidy is paid beside them (国发〔2015〕52号).
    EXCLUDED = "excluded", "享受工伤保险生活护理费或特困供养"
    # A new certificate below the grades (and extended categories) 护理补贴 is paid for.
    GRADE = "grade", "等级变更后不再符合"


class GrantChange(models.Model):
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField("变更", max_length=10, choices=ChangeAction.choices)
    effective_month = models.DateField("生效月份")
    reason = models.CharField("原因", max_length=200)
    stop_reason = models.CharField("停发原因", max_length=20, choices=StopReason.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "资格变更"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.effective_month:%Y-%m}"


class PayrollStatus(models.TextChoices):
    RUNNING = "running", "计算中"
    DRAFT = "draft", "待审核"
    LOCKED = "locked", "已锁定"


class PayrollSource(models.TextChoices):
    KANGFU = "kangfu", "本系统"
    LEGACY = "legacy", "原系统（上线前迁入）"


class Payroll(models.Model):
    """One district's payroll for one month. Locked, it never changes.

    A payroll of the system used before go-live (`source` legacy) holds the months it paid, imported
    as locked lines: the payroll, recoveries and amounts at stake count them as they count ours."""

    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    month = models.DateField("月份")
    status = models.CharField(
        "状态", max_length=10, choices=PayrollStatus.choices, default=PayrollStatus.RUNNING
    )
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run_at = models.DateTimeField("计算时间", null=True, blank=True)
    # A run is queued as a task (`payroll_start`): when it started, and why it did not finish, if it
    # did not. Running with no error and a recent start means a computation is under way.
    started_at = models.DateTimeField("开始计算时间", null=True, blank=True)
    error = models.CharField("计算未完成的原因", max_length=500, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_at = models.DateTimeField("锁定时间", null=True, blank=True)
    total = models.DecimalField("合计（元）", max_digits=14, decimal_places=2, default=ZERO)
    line_count = models.PositiveIntegerField("明细条数", default=0)
    source = models.CharField(
        "来源", max_length=10, choices=PayrollSource.choices, default=PayrollSource.KANGFU
    )

    class Meta:
        verbose_name = verbose_name_plural = "月度发放"
        ordering = ["-month", "district_id"]
        constraints = [
            models.UniqueConstraint(fields=["district", "month"], name="payroll_one_per_district_month")
        ]

    def __str__(self) -> str:
        return f"{self.district} {self.month:%Y-%m}"


class LineType(models.TextChoices):
    REGULAR = "regular", "当月发放"
    ARREARS = "arrears", "补发"
    RECOVERY = "recovery", "追回"


class BankStatus(models.TextChoices):
    PENDING = "pending", "待银行反馈"
    PAID = "paid", "已发放"
    FAILED = "failed", "发放失败"


class PayrollLine(models.Model):
    """What one grant gets (or gives back) in one payroll for one month."""

    # Both foreign keys lead the composite indexes below, which serve their lookups too.
    payroll = models.ForeignKey(Payroll, on_delete=models.CASCADE, related_name="lines", db_index=False)
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="lines", db_index=False)
    # The person and street are the grant's, copied for scoping and grouping. The database checks no
    # constraint on them: PostgreSQL checks a foreign key row by row (7 µs a row here), and these two
    # doubled what a payroll's or an import's commit spends on checks while adding no protection the
    # grant's own key does not give (a grant keeps its person; region rows are never deleted).
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    street = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    month_for = models.DateField("所属月份")
    amount = models.DecimalField("金额（元）", max_digits=10, decimal_places=2)
    line_type = models.CharField("类型", max_length=10, choices=LineType.choices)
    bank_status = models.CharField(
        "银行反馈", max_length=10, choices=BankStatus.choices, default=BankStatus.PENDING
    )
    bank_note = models.CharField("失败原因", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "发放明细"
        indexes = [
            models.Index(fields=["grant", "month_for"], name="line_grant_month"),
            models.Index(fields=["payroll", "street", "kind"], name="line_payroll_street_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.month_for:%Y-%m} {self.amount}"


class HoldRule(models.TextChoices):
    VITAL = "vital", "人员状态异常（死亡、失踪、服刑）"
    CERTIFICATE = "certificate", "无有效残疾人证"
    INCOME = "income", "生活补贴：不在低保等认可的收入状况"
    GRADE = "grade", "护理补贴：等级或类别不符"
    MOVED = "moved", "户籍已不在本区"
    EXCLUDED = "excluded", "享受排斥或同类补贴"


class HeldGrant(models.Model):
    """A grant the payroll did not pay because it no longer seems to qualify; a person decides."""

    payroll = models.ForeignKey(Payroll, on_delete=models.CASCADE, related_name="held")
    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="holds")
    rule = models.CharField("规则", max_length=12, choices=HoldRule.choices)

    class Meta:
        verbose_name = verbose_name_plural = "暂缓发放"
        constraints = [
            models.UniqueConstraint(fields=["payroll", "grant", "rule"], name="held_once_per_rule")
        ]

    def __str__(self) -> str:
        return f"{self.grant} {self.get_rule_display()}"


class ReviewCampaign(models.Model):
    """The annual review (年度复核) of a district: one task per recipient, for their street."""

    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField("年度")
    due_date = models.DateField("完成期限")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "年度复核"
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["district", "year"], name="review_one_per_district_year")
        ]

    def __str__(self) -> str:
        return f"{self.district} {self.year} 年度复核"


class ReviewOutcome(models.TextChoices):
    PENDING = "pending", "待复核"
    PASSED = "passed", "复核通过"
    FAILED = "failed", "复核不合格（停发）"
    ABSENT = "absent", "未参加复核（停发）"


class ReviewTask(models.Model):
    campaign = models.ForeignKey(ReviewCampaign, on_delete=models.CASCADE, related_name="tasks")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(
        "结果", max_length=10, choices=ReviewOutcome.choices, default=ReviewOutcome.PENDING
    )
    method = models.CharField("方式", max_length=50, blank=True, help_text="比对系统、查看资料、本人申报等。")
    note = models.CharField("说明", max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The community worker the street sends to see the person (入户走访) before it records the result.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="走访人",
    )
    assigned_at = models.DateTimeField("派发时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "复核任务"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "person"], name="review_task_once_per_person")
        ]
        indexes = [models.Index(fields=["campaign", "street", "outcome"], name="review_task_street")]

    def __str__(self) -> str:
        return f"{self.person} {self.get_outcome_display()}"


class VisitMode(models.TextChoices):
    HOME = "home", "入户走访"
    VIDEO = "video", "视频见面"


class Visit(models.Model):
    """A face-to-face contact with a recipient; twice a year is the rule."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="subsidy_visits")
    visited_on = models.DateField("见面日期")
    mode = models.CharField("方式", max_length=10, choices=VisitMode.choices)
    findings = models.CharField("情况", max_length=300)
    abnormal = models.BooleanField("发现异常", default=False)
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "见面走访"
        ordering = ["-visited_on", "-id"]
        indexes = [models.Index(fields=["person", "visited_on"], name="visit_person_date")]

    def __str__(self) -> str:
        return f"{self.person} {self.visited_on}"


class RecoveryStatus(models.TextChoices):
    OPEN = "open", "待追回"
    SETTLED = "settled", "已追回"


class Recovery(models.Model):
    """Money a person owes back: a payroll in which their recoveries exceeded what they were due.
    It is settled by offsetting later payments, or by recording that it was repaid."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="subsidy_recoveries")
    payroll = models.ForeignKey(Payroll, on_delete=models.PROTECT, related_name="recoveries")
    amount = models.DecimalField("应追回（元）", max_digits=10, decimal_places=2)
    outstanding = models.DecimalField("尚欠（元）", max_digits=10, decimal_places=2)
    status = models.CharField(
        "状态", max_length=10, choices=RecoveryStatus.choices, default=RecoveryStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "追回款"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outstanding__gte=0), name="recovery_outstanding_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} 尚欠 {self.outstanding}"


class Settlement(models.Model):
    """Part of a recovery settled: offset against a later payroll's payment, or repaid."""

    recovery = models.ForeignKey(Recovery, on_delete=models.PROTECT, related_name="settlements")
    payroll = models.ForeignKey(
        Payroll, null=True, blank=True, on_delete=models.PROTECT, related_name="offsets"
    )
    amount = models.DecimalField("金额（元）", max_digits=10, decimal_places=2)
    how = models.CharField("方式", max_length=10, choices=[("offset", "抵扣发放"), ("repaid", "退回")])
    note = models.CharField("说明", max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "追回结算"

    def __str__(self) -> str:
        return f"{self.get_how_display()} {self.amount}"


PAYMENT_FIELDS = {
    "seq": "序号",
    "name": "姓名",
    "id_number": "身份证号",
    "bank_name": "开户银行",
    "bank_account": "银行账号",
    "amount": "金额",
    "street": "街道",
    "lines": "明细编号",
    "memo": "摘要",
}


class PaymentFormat(models.Model):
    """The columns a paying bank wants in its payment file, in order: [[header, field], …] with
    fields from PAYMENT_FIELDS. Keep 明细编号 (`lines`): the bank's answer is matched by it."""

    code = models.SlugField("代码", max_length=30, unique=True)
    name = models.CharField("银行/格式名称", max_length=50)
    columns = models.JSONField("列")

    class Meta:
        verbose_name = verbose_name_plural = "发放文件格式"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        bad = [
            c for c in self.columns if not (isinstance(c, list) and len(c) == 2 and c[1] in PAYMENT_FIELDS)
        ]
        if bad or not any(c[1] == "lines" for c in self.columns if isinstance(c, list) and len(c) == 2):
            raise ValidationError(
                {
                    "columns": f"每列应为 [表头, 字段]，字段取自：{'、'.join(PAYMENT_FIELDS)}；须含 lines（明细编号）。"
                }
            )


class AppealStatus(models.TextChoices):
    LODGED = "lodged", "待复核"
    UPHELD = "upheld", "申诉成立，已恢复发放"
    REJECTED = "rejected", "申诉不成立，维持原决定"


class Appeal(models.Model):
    """A recipient's challenge to the stop (or suspension) of a grant (申诉复核), recorded by a clerk.

    The paying district re-checks it within `due_on` (working days from `lodged_on`); upheld, the
    grant is paid again from the challenged change's month, so the next payroll back-pays every month
    withheld (`reinstated` is the change that did it)."""

    grant = models.ForeignKey(
        Grant, verbose_name="补贴资格", on_delete=models.PROTECT, related_name="appeals"
    )
    change = models.ForeignKey(
        GrantChange, verbose_name="被申诉的停发", on_delete=models.PROTECT, related_name="appeals"
    )
    lodged_on = models.DateField("申诉日期")
    lodged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="登记人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField("申诉理由", max_length=500)
    due_on = models.DateField("复核期限")
    status = models.CharField(
        "状态", max_length=10, choices=AppealStatus.choices, default=AppealStatus.LODGED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="复核人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField("复核时间", null=True, blank=True)
    opinion = models.CharField("复核意见", max_length=500, blank=True)
    reinstated = models.ForeignKey(
        GrantChange, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "申诉复核"
        ordering = ["due_on", "id"]
        constraints = [
            # One appeal at a time against a stop; a rejected one may be followed by another.
            models.UniqueConstraint(
                fields=["change"], condition=models.Q(status="lodged"), name="appeal_one_open_per_change"
            ),
            models.CheckConstraint(
                condition=models.Q(status="lodged", decided_at__isnull=True)
                | (~models.Q(status="lodged") & models.Q(decided_at__isnull=False)),
                name="appeal_decided_unless_lodged",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grant} 申诉（{self.lodged_on}）"

    @property
    def is_open(self) -> bool:
        return self.status == AppealStatus.LODGED
