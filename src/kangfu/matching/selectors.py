"""Reads of 数据比对, scoped like every other read."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from kangfu.core import access
from kangfu.core.models import User
from kangfu.matching.models import ComparisonRun, FeedImport, Item, ItemStatus
from kangfu.matching.rules import RULE_NAMES

OPEN = [ItemStatus.OPEN, ItemStatus.CONFIRMED]


def items_for(user: User):
    return Item.objects.filter(
        access.area_q(user, district="district_id", street="street_id", community="person__community_id")
    ).select_related("person", "street", "grant")


def runs_for(user: User):
    return ComparisonRun.objects.filter(access.area_q(user, district="district_id")).select_related(
        "district"
    )


def imports_recent():
    return FeedImport.objects.select_related("source").order_by("-created_at")[:50]


def summary(user: User) -> dict:
    """Per street and rule: items raised, closed and overdue, and the money at stake still open."""
    today = timezone.localdate()
    rows = (
        items_for(user)
        .values("street__name", "rule")
        .annotate(
            raised=Count("id"),
            closed=Count("id", filter=Q(status__in=[ItemStatus.APPROVED, ItemStatus.DISMISSED])),
            overdue=Count("id", filter=Q(status__in=OPEN, due_date__lt=today)),
            at_stake=Sum("amount_at_stake", filter=Q(status__in=OPEN)),
            recovered=Sum("amount_at_stake", filter=Q(status=ItemStatus.APPROVED, direction="stop")),
        )
        .order_by("street__name", "rule")
    )
    by_street: dict[str, list] = defaultdict(list)
    for row in rows:
        row["rule_name"] = RULE_NAMES.get(row["rule"], row["rule"])
        row["at_stake"] = row["at_stake"] or Decimal("0.00")
        row["recovered"] = row["recovered"] or Decimal("0.00")
        by_street[row["street__name"]].append(row)
    return dict(by_street)
