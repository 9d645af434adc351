"""精康 as a funded programme: funds with their yearly money, purchased-service contracts between a
civil-affairs office and an institution, payment milestones tied to delivered volumes, and payment
requests that go through approval.

Money is Decimal to the fen. A fund's `allocated` and `spent`, and a contract's `paid`, are running
totals moved only by conditional UPDATEs in the services (never past their limits, which the database
also holds by check constraints); every movement leaves a `FundMovement` row and an audit entry.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from kangfu.core.models import Organisation, Region

USER = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 14, "decimal_places": 2}


class FundSource(models.TextChoices):
    """Where 精康 money comes from (seed 000: 福彩公益金 first, budgets beside it, charity to supplement;
    Tianjin's 社区公益事业专项补助)."""

    WELFARE_LOTTERY = "welfare_lottery", "福彩公益金"
    BUDGET_PROVINCE = "budget_province", "省级财政预算"
    BUDGET_CITY = "budget_city", "市级财政预算"
    BUDGET_DISTRICT = "budget_district", "区级财政预算"
    COMMUNITY_GRANT = "community_grant", "社区公益事业专项补助"
    CHARITY = "charity", "慈善和社会资金"


class Fund(models.Model):
    """One source's money for one year, held by a region's civil-affairs office."""

    region = models.ForeignKey(Region, verbose_name="所属区划", on_delete=models.PROTECT, related_name="+")
    source = models.CharField("资金来源", max_length=20, choices=FundSource.choices)
    year = models.PositiveSmallIntegerField("年度")
    name = models.CharField("资金名称", max_length=100)
    amount = models.DecimalField("到位金额（元）", **MONEY)
    allocated = models.DecimalField("已分配（元）", default=Decimal("0.00"), **MONEY)
    spent = models.DecimalField("已支付（元）", default=Decimal("0.00"), **MONEY)
    note = models.CharField("说明", max_length=200, blank=True)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "项目资金"
        ordering = ["-year", "region_id", "source", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "year", "source", "name"], name="programme_fund_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="programme_fund_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(allocated__gte=0, allocated__lte=F("amount")),
                name="programme_fund_allocated_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(spent__gte=0, spent__lte=F("allocated")),
                name="programme_fund_spent_within_allocated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year}年 {self.name}"

    @property
    def committed(self) -> Decimal:
        """Allocated to contracts and not yet paid."""
        return self.allocated - self.spent

    @property
    def remaining(self) -> Decimal:
        """Not yet allocated to any contract."""
        return self.amount - self.allocated


class MovementKind(models.TextChoices):
    APPROPRIATE = "appropriate", "资金下达"
    REDUCE = "reduce", "资金调减"
    ALLOCATE = "allocate", "分配至合同"
    PAY = "pay", "支付"


class FundMovement(models.Model):
    """One movement of a fund's money, append-only: the ledger its running totals are the sum of."""

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField("类型", max_length=15, choices=MovementKind.choices)
    amount = models.DecimalField("金额（元）", **MONEY)
    contract = models.ForeignKey(
        "Contract", null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    payment = models.ForeignKey(
        "PaymentRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    note = models.CharField("说明", max_length=200, blank=True)
    actor = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "资金变动"
        ordering = ["-at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="programme_movement_positive")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class ContractStatus(models.TextChoices):
    ACTIVE = "active", "履行中"
    CLOSED = "closed", "已结束"


class Volumes(models.Model):
    """The five volumes a contract buys and a milestone requires (contracted or cumulative)."""

    people = models.PositiveIntegerField("服务对象（人）", default=0)
    sessions = models.PositiveIntegerField("服务场次", default=0)
    people_times = models.PositiveIntegerField("服务人次", default=0)
    follow_ups = models.PositiveIntegerField("随访（次）", default=0)
    staff_trained = models.PositiveIntegerField("培训人员（人）", default=0)

    class Meta:
        abstract = True


class Contract(Volumes):
    """A purchased-service contract (政府购买服务) between a civil-affairs office and an institution,
    paid from one fund. `district` is the institution's district, for scope and partitioning."""

    number = models.CharField("合同编号", max_length=30, unique=True)
    title = models.CharField("项目名称", max_length=100)
    purchaser = models.ForeignKey(
        Organisation, verbose_name="购买方", on_delete=models.PROTECT, related_name="+"
    )
    institution = models.ForeignKey(
        Organisation, verbose_name="承接机构", on_delete=models.PROTECT, related_name="+"
    )
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    fund = models.ForeignKey(
        Fund, verbose_name="资金来源", on_delete=models.PROTECT, related_name="contracts"
    )
    starts_on = models.DateField("服务期开始")
    ends_on = models.DateField("服务期结束")
    amount = models.DecimalField("合同金额（元）", **MONEY)
    paid = models.DecimalField("已支付（元）", default=Decimal("0.00"), **MONEY)
    service_types = models.JSONField("服务范围", default=list)
    sites = models.ManyToManyField(Organisation, verbose_name="服务站点", blank=True, related_name="+")
    status = models.CharField(
        "状态", max_length=10, choices=ContractStatus.choices, default=ContractStatus.ACTIVE
    )
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "购买服务合同"
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="programme_contract_period"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="programme_contract_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid__gte=0, paid__lte=F("amount")), name="programme_contract_paid_within_amount"
            ),
        ]
        indexes = [models.Index(fields=["district", "starts_on"], name="programme_contract_district")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.paid


class MilestoneStatus(models.TextChoices):
    OPEN = "open", "未申请"
    REQUESTED = "requested", "待审批"
    PAID = "paid", "已支付"


class Milestone(Volumes):
    """A payment due once the contract has delivered these volumes, counted from the contract's
    start (cumulative), as the institutions' own records show."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="milestones")
    seq = models.PositiveSmallIntegerField("序号")
    name = models.CharField("节点名称", max_length=100)
    amount = models.DecimalField("支付金额（元）", **MONEY)
    due_on = models.DateField("计划日期", null=True, blank=True)
    status = models.CharField(
        "状态", max_length=10, choices=MilestoneStatus.choices, default=MilestoneStatus.OPEN
    )
    # The final payment (尾款): requested only once the contract's acceptance is confirmed.
    final = models.BooleanField("尾款（验收通过后支付）", default=False)

    class Meta:
        verbose_name = verbose_name_plural = "付款节点"
        ordering = ["contract_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "seq"], name="programme_milestone_seq"),
            models.UniqueConstraint(
                fields=["contract"], condition=Q(final=True), name="programme_milestone_one_final"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="programme_milestone_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"第{self.seq}期 {self.name}"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "已退回"


class PaymentRequest(models.Model):
    """A request to pay one milestone, with the delivered volumes it rests on (`evidence`, as counted
    when requested), approved or sent back by someone other than the requester."""

    milestone = models.ForeignKey(Milestone, on_delete=models.PROTECT, related_name="payments")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="payments")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    amount = models.DecimalField("申请金额（元）", **MONEY)
    evidence = models.JSONField("完成情况", default=dict)
    status = models.CharField(
        "状态", max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    requested_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "付款申请"
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One live request per milestone, whatever two clicks or two people do at once.
            models.UniqueConstraint(
                fields=["milestone"],
                condition=Q(status__in=["pending", "approved"]),
                name="programme_payment_one_live",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="programme_payment_amount_positive"),
        ]
        indexes = [models.Index(fields=["district", "status"], name="programme_payment_district")]

    def __str__(self) -> str:
        return f"{self.contract.number} {self.milestone} {self.amount}"


# ------------------------------------------------------------------ supervision (督导)


class Checklist(models.Model):
    """A supervision checklist (督导检查表), held as data like the assessment scales. Its items live in
    versions: once a visit has scored a version, a change makes a new version, never a rewrite."""

    code = models.SlugField("代码", max_length=30, unique=True)
    name = models.CharField("名称", max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "督导检查表"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ChecklistVersion(models.Model):
    """One version of a checklist's items; visits point at the version they scored."""

    checklist = models.ForeignKey(Checklist, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveSmallIntegerField("版本")
    is_current = models.BooleanField("现行", default=True)
    note = models.CharField("修订说明", max_length=200, blank=True)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "检查表版本"
        ordering = ["checklist_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "number"], name="programme_checklist_version"),
            models.UniqueConstraint(
                fields=["checklist"], condition=Q(is_current=True), name="programme_checklist_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.checklist.name}（第{self.number}版）"


class ChecklistItem(models.Model):
    """An item of a version: what is checked, the range its score must fall in, and its weight in
    the visit's total."""

    version = models.ForeignKey(ChecklistVersion, on_delete=models.PROTECT, related_name="items")
    seq = models.PositiveSmallIntegerField("序号")
    section = models.CharField("类别", max_length=50, blank=True)
    text = models.CharField("检查内容", max_length=200)
    min_score = models.DecimalField("最低分", max_digits=5, decimal_places=1, default=Decimal("0"))
    max_score = models.DecimalField("最高分", max_digits=5, decimal_places=1)
    weight = models.DecimalField("权重", max_digits=5, decimal_places=2, default=Decimal("1"))

    class Meta:
        verbose_name = verbose_name_plural = "检查项目"
        ordering = ["version_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["version", "seq"], name="programme_checklist_item_seq"),
            models.CheckConstraint(condition=Q(max_score__gt=F("min_score")), name="programme_item_range"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="programme_item_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.text


class Visit(models.Model):
    """A quarterly supervision visit to an institution, scored on one checklist version."""

    institution = models.ForeignKey(
        Organisation, verbose_name="被督导机构", on_delete=models.PROTECT, related_name="+"
    )
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    contract = models.ForeignKey(
        Contract, verbose_name="合同", null=True, blank=True, on_delete=models.PROTECT, related_name="visits"
    )
    year = models.PositiveSmallIntegerField("年度")
    quarter = models.PositiveSmallIntegerField("季度")
    visited_on = models.DateField("督导日期")
    version = models.ForeignKey(
        ChecklistVersion, verbose_name="检查表", on_delete=models.PROTECT, related_name="visits"
    )
    team = models.CharField("督导人员", max_length=200)
    experts = models.ManyToManyField(
        "programme.Expert", verbose_name="督导专家", blank=True, related_name="visits"
    )
    summary = models.TextField("督导意见", blank=True)
    score = models.DecimalField("得分（百分制）", max_digits=5, decimal_places=1)
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "督导检查"
        ordering = ["-visited_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "year", "quarter"], name="programme_visit_once_a_quarter"
            ),
            models.CheckConstraint(
                condition=Q(quarter__gte=1, quarter__lte=4), name="programme_visit_quarter"
            ),
        ]
        indexes = [models.Index(fields=["district", "year", "quarter"], name="programme_visit_district")]

    def __str__(self) -> str:
        return f"{self.year}年第{self.quarter}季度督导"


class VisitScore(models.Model):
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="scores")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    score = models.DecimalField("得分", max_digits=5, decimal_places=1)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["visit", "item"], name="programme_visit_item_once")]

    def __str__(self) -> str:
        return f"{self.item}: {self.score}"


class RectificationStatus(models.TextChoices):
    OPEN = "open", "待整改"
    ANSWERED = "answered", "已整改待核验"
    VERIFIED = "verified", "已核验"


class Finding(models.Model):
    """A problem a visit found, with its rectification task: a deadline and an owner at the
    institution, the institution's answer, and civil affairs' verification."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="findings")
    text = models.CharField("发现问题", max_length=300)
    deadline = models.DateField("整改期限")
    owner = models.CharField("整改责任人", max_length=50)
    status = models.CharField(
        "状态", max_length=10, choices=RectificationStatus.choices, default=RectificationStatus.OPEN
    )
    answer = models.TextField("整改情况", blank=True)
    answered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_note = models.CharField("核验意见", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "督导发现与整改"
        ordering = ["visit_id", "id"]

    def __str__(self) -> str:
        return self.text


class FindingPhoto(models.Model):
    """A photo of a finding: what the supervisors saw, or what the institution put right. Served only
    through a scoped view, never from a public media address."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField("照片", upload_to="programme/findings/%Y/")
    caption = models.CharField("说明", max_length=100, blank=True)
    uploaded_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "督导照片"
        ordering = ["finding_id", "id"]

    def __str__(self) -> str:
        return self.caption or self.image.name


# Standards held as data and the acceptance of contracts live in a module of their own.
# The expert bank and the programme's trainings, likewise.
from kangfu.programme.models_experts import (  # noqa: E402, F401
    Expert,
    ExpertField,
    ExpertLevel,
    ExpertWindow,
    ProgrammeTraining,
    TrainingAttendance,
)
from kangfu.programme.models_standards import (  # noqa: E402, F401
    Acceptance,
    AcceptanceResult,
    AcceptanceScore,
    AcceptanceStatus,
    ItemKind,
    Standard,
    StandardItem,
    StandardPurpose,
    StandardVersion,
)
