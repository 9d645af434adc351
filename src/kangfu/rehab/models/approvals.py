"""审核: a plan version or a discharge proposed by one worker of the institution and approved (or sent
back) by another. A proposed discharge takes effect only when approved; a plan is in use from the
start (services cannot wait) and is marked approved when a second person has checked it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.rehab.models.cases import Case, DischargeReason
from kangfu.rehab.models.plans import Plan

USER = settings.AUTH_USER_MODEL


class ApprovalKind(models.TextChoices):
    PLAN = "plan", "康复计划"
    DISCHARGE = "discharge", "结案"


class ApprovalState(models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已批准"
    RETURNED = "returned", "已退回"


class Approval(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="approvals")
    kind = models.CharField("审核事项", max_length=10, choices=ApprovalKind.choices)
    state = models.CharField(
        "状态", max_length=10, choices=ApprovalState.choices, default=ApprovalState.PENDING
    )
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="approvals")
    # A proposed discharge: what the approver's decision will carry out.
    discharge_on = models.DateField("结案日期", null=True, blank=True)
    discharge_reason = models.CharField(
        "结案原因", max_length=15, choices=DischargeReason.choices, blank=True
    )
    note = models.CharField("说明", max_length=300, blank=True)
    proposed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField("审核意见", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "计划和结案审核"
        ordering = ["-proposed_at", "-id"]
        constraints = [
            # One question open at a time per case and kind: a second proposal waits for the first.
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=models.Q(state="pending"),
                name="rehab_approval_one_pending",
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="plan") & models.Q(plan__isnull=False))
                | (
                    models.Q(kind="discharge")
                    & models.Q(discharge_on__isnull=False)
                    & ~models.Q(discharge_reason="")
                ),
                name="rehab_approval_carries_its_subject",
            ),
        ]
        indexes = [models.Index(fields=["state", "case"], name="rehab_approval_open")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}审核 {self.get_state_display()}"
