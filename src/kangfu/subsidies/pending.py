"""Counts of 两项补贴 work waiting for the user, beside the menu entry (core.registry.Badge)."""

from __future__ import annotations

from kangfu.core import access
from kangfu.core.models import User
from kangfu.subsidies import selectors


def applications_waiting(user: User) -> int:
    """Applications waiting at the approval step the user's role takes, in their area."""
    step = access.policy(user).subsidy_step
    if not step:
        return 0
    return selectors.applications_for(user).filter(waiting_step=step).count()
