"""Reads of 数据比对, scoped like every other read."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from kangfu.core import access
from kangfu.core.models import Region, RegionLevel, User
from kangfu.matching.models import (
    ComparisonRun,
    FeedImport,
    FeedRow,
    FeedSource,
    ImportStatus,
    Item,
    ItemStatus,
)
from kangfu.matching.rules import RULE_NAMES

OPEN = [ItemStatus.OPEN, ItemStatus.CONFIRMED]
CLOSED = [ItemStatus.APPROVED, ItemStatus.DISMISSED, ItemStatus.KEPT]


def items_for(user: User):
    return Item.objects.filter(
        access.area_q(user, district="district_id", street="street_id", community="person__community_id")
    ).select_related("person", "street", "grant")


def runs_for(user: User):
    return ComparisonRun.objects.filter(access.area_q(user, district="district_id")).select_related(
        "district"
    )


def imports_for(user: User):
    """The feed imports a district's payroll office reads: every confirmed one (a feed covers the
    whole city and is evidence for every district's comparison; its matched lines are scoped by
    `feed_rows_for`), and the previews and discarded uploads of its own district."""
    if not access.policy(user).runs_payroll:
        return FeedImport.objects.none()
    return FeedImport.objects.filter(
        Q(status=ImportStatus.CONFIRMED) | access.area_q(user, district="district_id")
    ).select_related("source")


def imports_recent(user: User):
    return imports_for(user).order_by("-created_at")[:50]


def feed_rows_for(user: User, feed: FeedImport):
    """A feed's lines as a user may see them: unmatched ones, and those matched to a person in scope."""
    return feed.rows.filter(Q(person__isnull=True) | access.people_q(user, prefix="person__")).select_related(
        "person"
    )


def feed_matched_lines(feed: FeedImport) -> int:
    """Lines of the feed matched to a person; an ambiguous line is kept once per candidate, so this
    counts lines, not rows."""
    return feed.rows.filter(person__isnull=False).values("line").distinct().count()


def feed_sources():
    return FeedSource.objects.order_by("kind", "name")


def feed_source_named(name: str) -> FeedSource | None:
    return FeedSource.objects.filter(name=name).first()


def streets_of_district(district_code: str):
    """The streets an item may be handed on to: those of its district."""
    return Region.objects.filter(level=RegionLevel.STREET, code__startswith=district_code[:6])


def street_by_code(code: str) -> Region | None:
    """The street a code names (the 9 digits people type, or all 12), or None."""
    return Region.objects.filter(code=(code or "").ljust(12, "0"), level=RegionLevel.STREET).first()


def more_evidence(item: Item):
    """The other lines saying the same of the item's person this month (the same person twice in a
    file, or in two files of the same kind): more evidence for the one item, never a second item."""
    row = item.feed_row
    if row is None:
        return FeedRow.objects.none()
    return (
        FeedRow.objects.filter(
            person_id=item.person_id,
            kind=row.kind,
            feed__period=row.feed.period,
            feed__status=ImportStatus.CONFIRMED,
        )
        .exclude(pk=row.pk)
        .select_related("feed__source")
        .order_by("feed_id", "line")[:20]
    )


def summary(user: User) -> dict:
    """Per street and rule: items raised, closed and overdue, and the money at stake still open."""
    today = timezone.localdate()
    rows = (
        items_for(user)
        .values("street__name", "rule")
        .annotate(
            raised=Count("id"),
            closed=Count("id", filter=Q(status__in=CLOSED)),
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


def monthly(user: User, *, months: int = 12) -> list[dict]:
    """Per month of comparison: items raised, closed and overdue, amounts stopped (approved 应退 items'
    money at stake), and applications filed by people found by 主动发现 (应享未享) that month or later."""
    from kangfu.core.months import add_months, month_start
    from kangfu.subsidies.models import Application

    today = timezone.localdate()
    first = add_months(month_start(today), -(months - 1))
    items = items_for(user).filter(period__gte=first)
    rows = {
        row["period"]: row
        for row in items.values("period").annotate(
            raised=Count("id"),
            closed=Count("id", filter=Q(status__in=CLOSED)),
            overdue=Count("id", filter=Q(status__in=OPEN, due_date__lt=today)),
            stopped=Sum("amount_at_stake", filter=Q(status=ItemStatus.APPROVED, direction="stop")),
        )
    }
    found = items.filter(direction="entitled").values_list("period", "person_id")
    started: dict = defaultdict(int)
    applied = dict(
        Application.objects.filter(person_id__in=[p for _m, p in found]).values_list(
            "person_id", "applied_on"
        )
    )
    for period, person_id in found:
        if person_id in applied and applied[person_id] >= period:
            started[period] += 1
    out = []
    for i in range(months):
        month = add_months(first, i)
        row = rows.get(month, {})
        out.append(
            {
                "month": month,
                "raised": row.get("raised", 0),
                "closed": row.get("closed", 0),
                "overdue": row.get("overdue", 0),
                "stopped": row.get("stopped") or Decimal("0.00"),
                "applications": started[month],
            }
        )
    return out
