"""The monthly counters the statistics read: every write keeps them in step, `recount` rebuilds them
set-based from the rows they count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery

from kangfu.core.months import month_start
from kangfu.rehab.models import (
    Activity,
    Assessment,
    Case,
    CaseOutcome,
    CaseStatus,
    FollowUp,
    MonthlyCount,
    OutcomeCount,
    Placement,
    RegisteredPerson,
    Transfer,
)


def count(
    *, institution_id: int, district_id: str, day: dt.date, measure: str, key: str = "", n: int = 1
) -> None:
    """Add `n` to a monthly counter."""
    lookup = {"institution_id": institution_id, "month": month_start(day), "measure": measure, "key": key}
    _bump(MonthlyCount, lookup, district_id, n)


def _bump(model, lookup: dict[str, Any], district_id: str, n: int) -> None:
    """Add `n` to the counter row `lookup` names, creating it if need be; safe under concurrent writers
    (the insert yields to a row another writer made, the increment is one UPDATE)."""
    if n == 0:
        return
    model.objects.bulk_create([model(**lookup, district_id=district_id)], ignore_conflicts=True)
    model.objects.filter(**lookup).update(n=F("n") + n)


def _case_count(case: Case, day: dt.date, measure: str, key: str = "", n: int = 1) -> None:
    count(
        institution_id=case.institution_id,
        district_id=case.district_id,
        day=day,
        measure=measure,
        key=key,
        n=n,
    )


def _count_outcome(case: Case, scale_code: str, outcome: str, n: int) -> None:
    lookup = {"institution_id": case.institution_id, "scale_code": scale_code, "outcome": outcome}
    _bump(OutcomeCount, lookup, case.district_id, n)


def recount(*, district_id: str | None = None) -> int:
    """Rebuild the monthly counters from the rows they count, set-based (after a bulk load or to repair)."""
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth

    with transaction.atomic():
        counters = MonthlyCount.objects.all()
        if district_id:
            counters = counters.filter(district_id=district_id)
        counters.delete()
        rows: dict[tuple, int] = {}

        def add(qs, day_field: str, measure: str, key_field: str | None = None, value=None) -> None:
            if district_id:
                qs = qs.filter(district_id=district_id)
            fields = ["institution_id", "district_id", "m"] + ([key_field] if key_field else [])
            for row in (
                qs.annotate(m=TruncMonth(day_field))
                .values(*fields)
                .annotate(n=value or Count("id"))
                .order_by()
            ):
                key = (
                    row["institution_id"],
                    row["district_id"],
                    row["m"],
                    measure,
                    str(row[key_field]) if key_field else "",
                )
                rows[key] = rows.get(key, 0) + (row["n"] or 0)

        cases = Case.objects.all()
        add(cases, "referred_on", "referred")
        add(cases.exclude(screened_on=None), "screened_on", "screened")
        add(cases.filter(status=CaseStatus.DECLINED), "screened_on", "declined", "decline_reason")
        add(cases.exclude(enrolled_on=None), "enrolled_on", "enrolled")
        add(cases.filter(status=CaseStatus.DISCHARGED), "discharged_on", "discharged", "discharge_reason")
        activities = Activity.objects.all()
        add(activities, "held_on", "activities", "service_type")
        add(activities, "held_on", "patient_times", "service_type", Sum("patients"))
        add(activities, "held_on", "family_times", "service_type", Sum("family"))
        add(activities, "held_on", "forms", "form")
        add(FollowUp.objects.annotate(institution_id=F("case__institution_id")), "done_on", "follow_ups")
        add(
            FollowUp.objects.filter(due_on__lt=F("done_on")).annotate(
                institution_id=F("case__institution_id")
            ),
            "done_on",
            "follow_ups_late",
        )
        add(
            # A correction replaces an assessment; the services count only the original.
            Assessment.objects.filter(amends__isnull=True).annotate(
                institution_id=F("case__institution_id"), code=F("scale__code")
            ),
            "assessed_on",
            "assessments",
            "code",
        )
        add(Transfer.objects.annotate(institution_id=F("from_org_id")), "sent_on", "transfers_sent", "kind")
        add(
            Placement.objects.annotate(institution_id=F("case__institution_id")),
            "starts_on",
            "placements",
            "employment_type",
        )
        objs = [
            MonthlyCount(
                institution_id=i,
                district_id=d,
                month=m.date() if isinstance(m, dt.datetime) else m,
                measure=meas,
                key=k,
                n=n,
            )
            for (i, d, m, meas, k), n in rows.items()
            if n
        ]
        MonthlyCount.objects.bulk_create(objs, batch_size=2000)
        outcomes = OutcomeCount.objects.all()
        if district_id:
            outcomes = outcomes.filter(district_id=district_id)
        outcomes.delete()
        sources = CaseOutcome.objects.exclude(outcome="")
        if district_id:
            sources = sources.filter(district_id=district_id)
        OutcomeCount.objects.bulk_create(
            [
                OutcomeCount(**row)
                for row in sources.values("institution_id", "district_id", "scale_code", "outcome")
                .annotate(n=Count("id"))
                .order_by()
            ],
            batch_size=2000,
        )
        # The register is kept by the roster import; each case's copy of it is derived, so repair it too.
        # Only the rows that differ: rewriting every case would cost PostgreSQL its index-only scans
        # until the next vacuum.
        scoped = Case.objects.filter(district_id=district_id) if district_id else Case.objects.all()
        register = RegisteredPerson.objects.filter(person_id=OuterRef("person_id"))
        listed_in = Subquery(register.values("district_id")[:1])
        scoped.filter(Exists(register)).exclude(roster_district_id=listed_in).update(
            roster_district_id=listed_in
        )
        scoped.filter(roster_district__isnull=False).exclude(Exists(register)).update(roster_district=None)
    return len(objs)
