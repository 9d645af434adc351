"""Reads of 审核, scoped to the cases of the user's institution."""

from __future__ import annotations

from django.http import Http404

from kangfu.core import access
from kangfu.core.models import User
from kangfu.rehab.models import Approval, ApprovalState, Case


def approvals_for(user: User):
    return Approval.objects.filter(access.case_q(user, prefix="case__"))


def approval_for(user: User, pk: int) -> Approval:
    """A proposal on a case of the user's institution, or 404 as if it did not exist."""
    approval = approvals_for(user).select_related("case", "case__person", "plan").filter(pk=pk).first()
    if approval is None:
        raise Http404("未找到该记录。")
    return approval


def pending_for(user: User):
    """What waits for a decision at the user's institution, oldest first."""
    return (
        approvals_for(user)
        .filter(state=ApprovalState.PENDING)
        .select_related("case__person", "plan", "proposed_by")
        .order_by("proposed_at", "id")
    )


def approvals_of(case: Case):
    return Approval.objects.filter(case=case).select_related("plan", "proposed_by", "decided_by")
