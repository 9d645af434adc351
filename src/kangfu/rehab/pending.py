"""Counts of 精康 work waiting for the user, beside the menu entry (core.registry.Badge)."""

from __future__ import annotations

from django.utils import timezone

from kangfu.core.models import User
from kangfu.rehab import selectors
from kangfu.rehab.models import SERVED_STATES, ApplicationState, CaseStatus


def follow_ups_due(user: User) -> int:
    """Cases of the user's institution whose follow-up falls due today or is overdue."""
    today = timezone.localdate()
    return selectors.cases_for(user).filter(status__in=SERVED_STATES, next_follow_up_on__lte=today).count()


def referred_to_screen(user: User) -> int:
    """Cases referred to the user's institution and not yet screened."""
    return selectors.cases_for(user).filter(status=CaseStatus.REFERRED).count()


def applications_to_handle(user: User) -> int:
    """Applications in the user's jurisdiction waiting for 初核登记 or for referral to an institution."""
    return (
        selectors.applications_for(user)
        .filter(state__in=[ApplicationState.RECEIVED, ApplicationState.REGISTERED])
        .count()
    )
