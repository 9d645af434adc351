"""What institutions delivered, for the 精康 programme's contracts (kangfu.programme): monthly volumes read
from the statistics counters that every write keeps in step (`MonthlyCount`, rebuilt by `kangfu rehab
recount`), never from a scan of attendances, so a city's contracts are measured in one grouped query.

The programme may not import rehab's models (its import contract); it reads them only through here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from kangfu.core.models import Organisation, OrganisationKind
from kangfu.core.months import add_months
from kangfu.rehab.models import (
    Case,
    MonthlyCount,
    Outcome,
    OutcomeCount,
    Revisit,
    SatisfactionSurvey,
    ServiceType,
    StaffMember,
    Training,
    revisit_due_dates,
)
from kangfu.rehab.selectors import hours_required
from kangfu.rehab.selectors_revisits import owed_q

# The nine kinds of service, offered to a contract's scope.
SERVICE_TYPES: list[tuple[str, str]] = list(ServiceType.choices)
SERVICE_TYPE_VALUES: frozenset[str] = frozenset(ServiceType.values)

# The counters a contract's volumes are made of. `activities`, `patient_times` and `family_times` are
# keyed by service type and kept per site (none for an activity held elsewhere); `enrolled` and
# `follow_ups` carry no key and no site.
DELIVERY_MEASURES = ("enrolled", "activities", "patient_times", "family_times", "follow_ups")


def monthly_counts(
    *, institution_ids: Iterable[int], first: dt.date, last: dt.date
) -> list[tuple[int, int | None, dt.date, str, str, int]]:
    """(institution, site, month, measure, key, n) for the delivery measures of these institutions
    from the month of `first` to the month of `last`: one grouped read of the counters."""
    ids = sorted(set(institution_ids))
    if not ids:
        return []
    return list(
        MonthlyCount.objects.filter(
            institution_id__in=ids,
            month__gte=first.replace(day=1),
            month__lte=last.replace(day=1),
            measure__in=DELIVERY_MEASURES,
        )
        .values_list("institution_id", "site_id", "month", "measure", "key")
        .annotate(total=Sum("n"))
        .order_by()
    )


def period_counts(
    *, institution_ids: Iterable[int], periods: Iterable[tuple[dt.date, dt.date]]
) -> dict[tuple[dt.date, dt.date], list[tuple[int, int | None, str, str, int]]]:
    """{(first, last): [(institution, site, measure, key, n)]} summed over the months of `first` to `last` for
    each period: one read of the counters whatever the number of periods (a sum per period over the
    same rows), and a few dozen rows per institution however long the periods, for lists that need
    only totals."""
    ids = sorted(set(institution_ids))
    spans = sorted({(first.replace(day=1), last.replace(day=1)) for first, last in periods})
    if not ids or not spans:
        return {span: [] for span in spans}
    sums = {
        f"p{i}": Sum("n", filter=Q(month__gte=first, month__lte=last))
        for i, (first, last) in enumerate(spans)
    }
    rows = (
        MonthlyCount.objects.filter(
            institution_id__in=ids,
            month__gte=min(first for first, _ in spans),
            month__lte=max(last for _, last in spans),
            measure__in=DELIVERY_MEASURES,
        )
        .values_list("institution_id", "site_id", "measure", "key")
        .annotate(**sums)
        .order_by()
    )
    out: dict[tuple[dt.date, dt.date], list[tuple[int, int | None, str, str, int]]] = {
        span: [] for span in spans
    }
    for inst, site, measure, key, *totals in rows:
        for span, n in zip(spans, totals, strict=True):
            if n:
                out[span].append((inst, site, measure, key, n))
    return out


def trained_staff(
    *, institution_ids: Iterable[int], first: dt.date, last: dt.date
) -> list[tuple[int, int, dt.date]]:
    """(institution, staff member, month) for every month a member of the institution's staff (or of
    one of its service sites) was trained between the months of `first` and `last`: few rows (a
    city's staff by month), from which a caller counts distinct people over any run of months."""
    ids = sorted(set(institution_ids))
    if not ids:
        return []
    first = first.replace(day=1)
    last = add_months(last.replace(day=1), 1) - dt.timedelta(days=1)
    rows = (
        Training.objects.filter(
            Q(staff__organisation_id__in=ids) | Q(staff__organisation__parent_id__in=ids),
            held_on__gte=first,
            held_on__lte=last,
        )
        .annotate(
            # A site's staff belong to the site's institution; the institution's own to itself.
            home=Coalesce(F("staff__organisation__parent_id"), F("staff__organisation_id")),
            m=TruncMonth("held_on"),
        )
        .values_list("home", "staff_id", "m")
        .distinct()
        .order_by()
    )
    return [
        (home, staff, month.date() if isinstance(month, dt.datetime) else month)
        for home, staff, month in rows
        if home in ids
    ]


def sites_of(institution_ids: Iterable[int]):
    """The service sites of these institutions."""
    return Organisation.objects.filter(
        parent_id__in=list(institution_ids), kind=OrganisationKind.REHAB_SITE
    ).order_by("name")


# ------------------------------------------------------------------ the year's assessment


def follow_up_timeliness(*, institution_ids: Iterable[int], year: int) -> dict[int, tuple[int, int]]:
    """{institution: (follow-ups done in the year, of which late)}, from the counters."""
    out: dict[int, list[int]] = {}
    for inst, measure, n in (
        MonthlyCount.objects.filter(
            institution_id__in=sorted(set(institution_ids)),
            month__gte=dt.date(year, 1, 1),
            month__lte=dt.date(year, 12, 1),
            measure__in=("follow_ups", "follow_ups_late"),
        )
        .values_list("institution_id", "measure")
        .annotate(total=Sum("n"))
        .order_by()
    ):
        out.setdefault(inst, [0, 0])[0 if measure == "follow_ups" else 1] += n
    return {inst: (done, late) for inst, (done, late) in out.items()}


def outcome_improvement(*, institution_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """{institution: (cases improved on a scale, cases compared)}: the outcome counters as they stand."""
    out: dict[int, list[int]] = {}
    for inst, outcome, n in (
        OutcomeCount.objects.filter(institution_id__in=sorted(set(institution_ids)))
        .values_list("institution_id", "outcome")
        .annotate(total=Sum("n"))
        .order_by()
    ):
        row = out.setdefault(inst, [0, 0])
        row[1] += n
        if outcome == Outcome.IMPROVED:
            row[0] += n
    return {inst: (improved, total) for inst, (improved, total) in out.items()}


def training_compliance(*, institution_ids: Iterable[int], year: int) -> dict[int, tuple[int, int]]:
    """{institution: (direct-service staff in post during the year, of whom trained the hours their
    profession requires that year: a peer supporter fewer)}, counting the staff of its sites with it."""
    ids = sorted(set(institution_ids))
    staff = (
        StaffMember.objects.filter(
            Q(organisation_id__in=ids) | Q(organisation__parent_id__in=ids),
            Q(left_on__isnull=True) | Q(left_on__gte=dt.date(year, 1, 1)),
            direct_service=True,
        )
        .annotate(
            home=Coalesce(F("organisation__parent_id"), F("organisation_id")),
            hours=Sum("trainings__hours", filter=Q(trainings__held_on__year=year)),
        )
        .values_list("home", "hours", "profession")
    )
    out: dict[int, list[int]] = {}
    for home, hours, profession in staff:
        if home in ids:
            row = out.setdefault(home, [0, 0])
            row[0] += 1
            if (hours or 0) >= hours_required(profession):
                row[1] += 1
    return {inst: (n, ok) for inst, (n, ok) in out.items()}


def revisits_by_institution(*, institution_ids: Iterable[int], year: int) -> dict[int, tuple[int, int, int]]:
    """{institution: (回访 rounds that fell due in the year up to today, of which recorded, recorded
    contacts of those rounds that found a relapse or a readmission)}. A round is owed one, three and six
    months after a discharge (`selectors_revisits.owed_q`: not for a death or a transfer, nor once the
    person is served again); it counts in the year its due date falls in. Two statements."""
    ids = sorted(set(institution_ids))
    if not ids:
        return {}
    first, last = dt.date(year, 1, 1), min(dt.date(year, 12, 31), timezone.localdate())
    if last < first:
        return {}
    closures = Case.objects.filter(
        owed_q(),
        institution_id__in=ids,
        discharged_on__gte=add_months(first, -6) - dt.timedelta(days=1),
        discharged_on__lte=last,
    )
    closed = list(closures.values_list("pk", "institution_id", "discharged_on").order_by())
    made = {
        (case_id, round_): relapse or readmission
        for case_id, round_, relapse, readmission in Revisit.objects.filter(case__in=closures.values("pk"))
        .values_list("case_id", "round", "relapsed", "readmitted")
        .order_by()
    }
    out: dict[int, list[int]] = {}
    for pk, inst, discharged_on in closed:
        for round_, due_on in revisit_due_dates(discharged_on).items():
            if first <= due_on <= last:
                row = out.setdefault(inst, [0, 0, 0])
                row[0] += 1
                if (pk, round_) in made:
                    row[1] += 1
                    row[2] += made[(pk, round_)]
    return {inst: (due, done, flagged) for inst, (due, done, flagged) in out.items()}


def satisfaction_by_institution(
    *, institution_ids: Iterable[int], year: int
) -> dict[int, tuple[int, Decimal]]:
    """{institution: (满意度 forms entered for the year, mean overall score 1–5, unrounded)}, for the
    institutions that have any: one grouped read. A contract's scope narrows by institution only, as
    the forms are about the institution's service as a whole. The mean is the exact quotient of the
    integer sum, so an indicator derived from it (× 20, to a tenth) is rounded once, by its user."""
    rows = (
        SatisfactionSurvey.objects.filter(institution_id__in=sorted(set(institution_ids)), year=year)
        .values_list("institution_id")
        .annotate(n=Count("id"), total=Sum("overall"))
        .order_by()
    )
    return {inst: (n, Decimal(total) / n) for inst, n, total in rows}
