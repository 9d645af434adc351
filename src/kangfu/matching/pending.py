"""Counts of 数据比对 items waiting for the user, beside the menu entry (core.registry.Badge)."""

from __future__ import annotations

from django.utils import timezone

from kangfu.core.models import User
from kangfu.matching import selectors


def items_open(user: User) -> int:
    """Items raised in the user's area, not yet settled and not yet overdue (counted apart)."""
    today = timezone.localdate()
    return selectors.items_for(user).filter(status__in=selectors.OPEN).exclude(due_date__lt=today).count()


def items_overdue(user: User) -> int:
    """Open items in the user's area past the day they were due."""
    today = timezone.localdate()
    return selectors.items_for(user).filter(status__in=selectors.OPEN, due_date__lt=today).count()
