"""Reads of 两项补贴, scoped through the access module."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from kangfu.core import access
from kangfu.core.models import User
from kangfu.people.models import CertificateStatus, DisabilityCertificate, IncomePeriod, Person, VitalStatus
from kangfu.subsidies.models import (
    Application,
    ApplicationStatus,
    BankStatus,
    ChangeAction,
    Grant,
    GrantChange,
    GrantStatus,
    HeldGrant,
    Kind,
    LineType,
    Payroll,
    PayrollLine,
    PayrollStatus,
    Standard,
    StopReason,
)
from kangfu.subsidies.rules import add_months, month_start


def applications_for(user: User) -> QuerySet[Application]:
    return Application.objects.filter(
        access.area_q(user, city="", district="district_id", street="street_id", community="community_id")
    ).select_related("person", "community", "street")


def grants_for(user: User) -> QuerySet[Grant]:
    return Grant.objects.filter(
        access.area_q(user, district="district_id", street="street_id", community="person__community_id")
    ).select_related("person", "street")


def payrolls_for(user: User) -> QuerySet[Payroll]:
    return Payroll.objects.filter(access.area_q(user, district="district_id")).select_related("district")


def worklist(user: User) -> dict:
    step = access.policy(user).subsidy_step
    apps = applications_for(user)
    waiting = apps.filter(waiting_step=step) if step else apps.none()
    return {
        "waiting": waiting.order_by("applied_on")[:100],
        "returned": apps.filter(status=ApplicationStatus.RETURNED).order_by("-created_at")[:50],
        "step": step,
    }


def payroll_summary(payroll: Payroll) -> dict:
    """Totals of a payroll by street and kind, and by line type: what the approver checks before locking."""
    lines = PayrollLine.objects.filter(payroll=payroll)
    by_street: dict[str, dict] = defaultdict(
        lambda: {"living": Decimal("0.00"), "care": Decimal("0.00"), "n": 0}
    )
    for row in (
        lines.values("street__name", "kind")
        .annotate(total=Sum("amount"), n=Count("id"))
        .order_by("street__name")
    ):
        by_street[row["street__name"]][row["kind"]] = row["total"]
        by_street[row["street__name"]]["n"] += row["n"]
    by_type = {
        row["line_type"]: row["total"] for row in lines.values("line_type").annotate(total=Sum("amount"))
    }
    bank = {row["bank_status"]: row["n"] for row in lines.values("bank_status").annotate(n=Count("id"))}
    held = (
        HeldGrant.objects.filter(payroll=payroll)
        .select_related("grant__person", "grant__street")
        .order_by("grant__street_id", "grant_id")[:500]
    )
    return {
        "by_street": dict(sorted(by_street.items())),
        "by_type": {LineType(k).label: v for k, v in by_type.items()},
        "bank": {BankStatus(k).label: v for k, v in bank.items()},
        "held": held,
    }


def current_standards() -> QuerySet[Standard]:
    return Standard.objects.select_related("region").order_by("region_id", "kind", "grade_min", "-valid_from")


def indicators(user: User, *, months: int = 12, today: dt.date | None = None) -> dict:
    """Month by month, in the user's area: recipients by kind, new approvals, stops by reason, amounts
    paid, arrears and recoveries, and the three rates of the seed article. A few grouped queries."""
    today = today or timezone.localdate()
    last = month_start(today)
    first = add_months(last, -(months - 1))
    series = [add_months(first, i) for i in range(months)]
    grants = grants_for(user)
    lines = PayrollLine.objects.filter(
        payroll__in=payrolls_for(user).filter(status=PayrollStatus.LOCKED), month_for__isnull=False
    )
    lines = lines.filter(payroll__month__gte=first, payroll__month__lte=last)
    paid = defaultdict(lambda: defaultdict(Decimal))
    for row in lines.values("payroll__month", "line_type", "kind").annotate(total=Sum("amount")):
        paid[row["payroll__month"]][(row["line_type"], row["kind"])] = row["total"]
    recipients = defaultdict(lambda: defaultdict(int))
    for row in (
        lines.filter(line_type=LineType.REGULAR)
        .values("payroll__month", "kind")
        .annotate(n=Count("grant_id", distinct=True))
    ):
        recipients[row["payroll__month"]][row["kind"]] = row["n"]
    changes = GrantChange.objects.filter(
        grant__in=grants, effective_month__gte=first, effective_month__lte=last
    )
    starts = defaultdict(int)
    for row in changes.filter(action=ChangeAction.START).values("effective_month").annotate(n=Count("id")):
        starts[row["effective_month"]] = row["n"]
    stops = defaultdict(lambda: defaultdict(int))
    for row in (
        changes.filter(action=ChangeAction.STOP)
        .values("effective_month", "stop_reason")
        .annotate(n=Count("id"))
    ):
        stops[row["effective_month"]][row["stop_reason"]] = row["n"]
    rows = []
    for month in series:
        p = paid[month]
        rows.append(
            {
                "month": month,
                "living": recipients[month][Kind.LIVING],
                "care": recipients[month][Kind.CARE],
                "approved": starts[month],
                "stopped": sum(stops[month].values()),
                "paid": sum((v for (t, _k), v in p.items() if t != LineType.RECOVERY), Decimal("0.00")),
                "arrears": sum((v for (t, _k), v in p.items() if t == LineType.ARREARS), Decimal("0.00")),
                "recovered": -sum((v for (t, _k), v in p.items() if t == LineType.RECOVERY), Decimal("0.00")),
            }
        )
    active = grants.filter(status=GrantStatus.ACTIVE)
    people = access.scope_people(Person.objects.filter(vital_status=VitalStatus.NORMAL), user)
    valid = DisabilityCertificate.objects.filter(status=CertificateStatus.VALID).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )
    poor = IncomePeriod.objects.filter(status__in=["dibao", "dibao_edge"], start_date__lte=today).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=today)
    )
    care_due = people.filter(pk__in=valid.filter(grade__lte=2).values("person_id")).count()
    living_due = (
        people.filter(pk__in=valid.values("person_id")).filter(pk__in=poor.values("person_id")).count()
    )
    covered = active.filter(kind=Kind.CARE).count() + active.filter(kind=Kind.LIVING).count()
    # The latest month that has been paid (the current one may not be computed yet).
    latest = next((r for r in reversed(rows) if r["living"] or r["care"]), {})
    paid_now = latest.get("living", 0) + latest.get("care", 0)
    documented = active.filter(application__documents__isnull=False).values("pk").distinct().count()
    return {
        "rows": rows,
        "coverage": _rate(covered, care_due + living_due),
        "payment_rate": _rate(paid_now, active.count()),
        "file_rate": _rate(documented, active.count()),
        "due": care_due + living_due,
        "active": active.count(),
        "stop_reasons": {
            StopReason(reason).label if reason else "其他": n
            for reason, n in changes.filter(action=ChangeAction.STOP)
            .values_list("stop_reason")
            .annotate(n=Count("id"))
            .order_by()
        },
    }


def _rate(numerator: int, denominator: int) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator) * 100).quantize(Decimal("0.1"))


def grants_overview(user: User) -> dict:
    grants = grants_for(user)
    counts = {
        (row["kind"], row["status"]): row["n"]
        for row in grants.values("kind", "status").annotate(n=Count("id"))
    }
    return {"counts": counts, "recalc": grants.filter(~Q(recalc_from=None)).count()}


def review_tasks_for(user: User):
    from kangfu.subsidies.models import ReviewTask

    return ReviewTask.objects.filter(
        access.area_q(
            user, district="campaign__district_id", street="street_id", community="person__community_id"
        )
    ).select_related("person", "street", "campaign")


def not_yet_seen(user: User, *, today: dt.date | None = None):
    """Recipients in the user's area with no visit in the current half-year: the visit worklist."""
    from kangfu.subsidies.models import Visit
    from kangfu.subsidies.services.reviews import half_year

    start, end = half_year(today or timezone.localdate())
    recipients = Grant.objects.filter(status=GrantStatus.ACTIVE).values("person_id")
    seen = Visit.objects.filter(visited_on__gte=start, visited_on__lte=end).values("person_id")
    people = access.scope_people(Person.objects.filter(pk__in=recipients), user).exclude(pk__in=seen)
    return people.select_related("community", "street").order_by("street_id", "community_id", "name"), (
        start,
        end,
    )


def certificates_expiring(user: User, *, today: dt.date | None = None, months: int = 6):
    """Recipients whose certificate expires within `months` months counting the current one: remind
    them to renew before payment stops (the month after expiry)."""
    today = today or timezone.localdate()
    until = add_months(month_start(today), months)
    recipients = grants_for(user).filter(status=GrantStatus.ACTIVE).values("person_id")
    return (
        DisabilityCertificate.objects.filter(
            status=CertificateStatus.VALID,
            person_id__in=recipients,
            expires_on__gte=today,
            expires_on__lt=until,
        )
        .select_related("person", "person__street")
        .order_by("expires_on")
    )
