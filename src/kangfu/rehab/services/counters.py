"""The monthly counters the statistics read: every write keeps them in step, `recount` rebuilds them
set-based from the rows they count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Subquery

from kangfu.core.months import add_months, month_start
from kangfu.core.sql import Dialect
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
from kangfu.rehab.models.counters import SITE_MEASURES, ServedMonth


def count(
    *,
    institution_id: int,
    district_id: str,
    day: dt.date,
    measure: str,
    key: str = "",
    n: int = 1,
    site_id: int | None = None,
) -> None:
    """Add `n` to a monthly counter (of a service site, for the measures kept per site)."""
    lookup = {
        "institution_id": institution_id,
        "site_id": site_id,
        "month": month_start(day),
        "measure": measure,
        "key": key,
    }
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


def served(rows: Iterable[tuple[Case, dt.date]]) -> None:
    """Mark each (case, day) as its person served by the case's institution in that day's month: one
    INSERT that leaves alone the months already marked, whatever the number of rows."""
    marks = {(case.person_id, month_start(day), case.institution_id, case.district_id) for case, day in rows}
    ServedMonth.objects.bulk_create(
        [ServedMonth(person_id=p, month=m, institution_id=i, district_id=d) for p, m, i, d in sorted(marks)],
        ignore_conflicts=True,
        batch_size=2000,
    )


def _served_select(where: str = "") -> str:
    """The served months as the rows say: every attendance in person (not as family) and every
    follow-up, by the case's person, institution and district, once. `where` narrows both halves by
    `c` (the case) and `d` (the day served)."""
    # Fixed fragments and the dialect's month; every value is a parameter.
    month = Dialect(connection.vendor).month_start
    attended = (
        f"SELECT c.person_id, {month('a.held_on')}, c.institution_id, c.district_id"  # noqa: S608
        " FROM rehab_attendance t JOIN rehab_activity a ON a.id = t.activity_id"
        " JOIN rehab_case c ON c.id = t.case_id WHERE NOT t.is_family"
    )
    followed = (
        f"SELECT c.person_id, {month('f.done_on')}, c.institution_id, c.district_id"  # noqa: S608
        " FROM rehab_followup f JOIN rehab_case c ON c.id = f.case_id WHERE 1 = 1"
    )
    if where:
        attended += " AND " + where.replace("{day}", "a.held_on")
        followed += " AND " + where.replace("{day}", "f.done_on")
    return (
        "INSERT INTO rehab_servedmonth (person_id, month, institution_id, district_id) "
        f"{attended} UNION {followed}"
    )


def served_rederive(*, person_ids: Iterable[int], first: dt.date, last: dt.date) -> None:
    """Derive again, from the rows, which institutions served these people in the months of `first`
    to `last`: after an attendance or a follow-up is removed, moved to another day or another case,
    a mark may no longer hold. Two statements."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    first, after = month_start(first), add_months(month_start(last), 1)
    with transaction.atomic():
        ServedMonth.objects.filter(person_id__in=ids, month__gte=first, month__lt=after).delete()
        marks = ", ".join(["%s"] * len(ids))
        where = f"c.person_id IN ({marks}) AND {{day}} >= %s AND {{day}} < %s"
        with connection.cursor() as cursor:
            cursor.execute(_served_select(where), [*ids, first, after, *ids, first, after])


def _served_rebuild(district_id: str | None) -> None:
    """Every served month again, set-based (one INSERT … SELECT over the attendances and follow-ups)."""
    rows = ServedMonth.objects.all()
    if district_id:
        rows = rows.filter(district_id=district_id)
    rows._raw_delete(rows.db)
    with connection.cursor() as cursor:
        if district_id:
            cursor.execute(_served_select("c.district_id = %s"), [district_id, district_id])
        else:
            cursor.execute(_served_select())


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
            by_site = measure in SITE_MEASURES
            fields = ["institution_id", "district_id", "m"] + ([key_field] if key_field else [])
            for row in (
                qs.annotate(m=TruncMonth(day_field))
                .values(*fields, *(["site_id"] if by_site else []))
                .annotate(n=value or Count("id"))
                .order_by()
            ):
                key = (
                    row["institution_id"],
                    row["site_id"] if by_site else None,
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
                site_id=site,
                district_id=d,
                month=m.date() if isinstance(m, dt.datetime) else m,
                measure=meas,
                key=k,
                n=n,
            )
            for (i, site, d, m, meas, k), n in rows.items()
            if n
        ]
        MonthlyCount.objects.bulk_create(objs, batch_size=2000)
        _served_rebuild(district_id)
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
