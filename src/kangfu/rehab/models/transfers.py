"""Referrals between institutions (转介) and what the receiver may see."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from kangfu.core.models import Organisation, Region
from kangfu.people.models import Person
from kangfu.rehab.models.cases import Case

USER = settings.AUTH_USER_MODEL


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
