"""Counts of 辅具租赁 work waiting for the user's rental centre, beside the menu entry
(core.registry.Badge)."""

from __future__ import annotations

from django.utils import timezone

from kangfu.core.models import User
from kangfu.devices import selectors
from kangfu.devices.models import RentalStatus, RequestStatus


def requests_new(user: User) -> int:
    """Rental requests not yet answered."""
    return selectors.requests_for(user).filter(status=RequestStatus.NEW).count()


def rentals_overdue(user: User) -> int:
    """Rentals still out past their end date."""
    today = timezone.localdate()
    return selectors.rentals_for(user).filter(status=RentalStatus.ACTIVE, end_date__lt=today).count()
