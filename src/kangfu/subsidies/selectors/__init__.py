"""Reads of 两项补贴, scoped through the access module."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce, Substr
from django.db.models.lookups import Exact
from django.shortcuts import get_object_or_404
from django.utils import timezone

from kangfu.core import access
from kangfu.core.ids import mask_account
from kangfu.core.models import LEVEL_DIGITS, Region, RegionLevel, Role, User, level_of_code
from kangfu.core.months import add_months, month_start
from kangfu.core.selectors import street_choices
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCertificate,
    Person,
)
from kangfu.people.selectors import person_by_id_number
from kangfu.subsidies.models import (
    Appeal,
    AppealStatus,
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
    PaymentFormat,
    Payroll,
    PayrollLine,
    PayrollStatus,
    Recovery,
    RecoveryStatus,
    ReviewCampaign,
    ReviewTask,
    Standard,
    Step,
    StopReason,
    Visit,
)
from kangfu.subsidies.selectors.eligibility import (
    SET_RULES as SET_RULES,
)
from kangfu.subsidies.selectors.eligibility import (
    DistrictRules as DistrictRules,
)
from kangfu.subsidies.selectors.eligibility import (
    Terms as Terms,
)
from kangfu.subsidies.selectors.eligibility import (
    _within_q,
)
from kangfu.subsidies.selectors.eligibility import (
    application_place as application_place,
)
from kangfu.subsidies.selectors.eligibility import (
    district_rules as district_rules,
)
from kangfu.subsidies.selectors.eligibility import (
    eligible_people as eligible_people,
)
from kangfu.subsidies.selectors.eligibility import (
    eligible_q as eligible_q,
)
from kangfu.subsidies.selectors.eligibility import (
    eligible_split as eligible_split,
)
from kangfu.subsidies.selectors.eligibility import (
    placed_people as placed_people,
)
from kangfu.subsidies.services import facts
from kangfu.subsidies.services.reviews import half_year

NOT_A_DISTRICT_OFFICER = "发放由区民政局办理。"


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


def appeals_for(user: User) -> QuerySet[Appeal]:
    """Appeals about grants in the user's area, scoped as the grants are."""
    return Appeal.objects.filter(grant__in=grants_for(user)).select_related(
        "grant__person", "grant__street", "change", "lodged_by", "decided_by"
    )


def appeals_overdue(user: User, *, today: dt.date) -> int:
    """Open appeals in the user's area past the day their answer was due."""
    return appeals_for(user).filter(status=AppealStatus.LODGED, due_on__lt=today).count()


def recoveries_for(user: User) -> QuerySet[Recovery]:
    """Debts (追回) arising in payrolls the user may run, scoped as the payrolls are."""
    return Recovery.objects.filter(payroll__in=payrolls_for(user)).select_related("person", "payroll")


def open_recoveries(user: User, *, district: Region) -> QuerySet[Recovery]:
    """The district's debts still owed: the payroll page's list of money to take back."""
    return recoveries_for(user).filter(payroll__district=district, status=RecoveryStatus.OPEN)


def payroll_district(user: User) -> Region:
    """The district whose payroll the user runs: payrolls are a district's (区民政局) business."""
    region = user.jurisdiction if user.is_authenticated else None
    if region is None or region.level != RegionLevel.DISTRICT:
        raise PermissionDenied(NOT_A_DISTRICT_OFFICER)
    return region


def payment_formats() -> QuerySet[PaymentFormat]:
    """The banks' payment-file layouts to choose from (not people data: the same for everyone)."""
    return PaymentFormat.objects.all()


def standard_get(pk: int) -> Standard:
    """One standard (policy, not people data: every role may read it), or 404."""
    return get_object_or_404(Standard.objects.select_related("region"), pk=pk)


def household_regions(*, street: str = "") -> tuple[list, list]:
    """Streets of the deployment grouped by district and named with it (two 海滨街道), and the chosen
    street's communities, for an applicant's household. Not scoped: a household anywhere may apply,
    at any counter or online (跨省通办)."""
    streets = street_choices()
    communities = (
        list(Region.objects.filter(level=RegionLevel.COMMUNITY, parent_id=street).values_list("code", "name"))
        if street
        else []
    )
    return streets, communities


def application_steps(application: Application) -> list:
    """The steps an application has been through, oldest first (the citizen's status page too)."""
    return list(application.steps.select_related("actor"))


def application_related(application: Application) -> dict:
    """What an application's page shows besides the row: its steps and its documents."""
    return {"steps": application_steps(application), "documents": list(application.documents.all())}


def application_sheet(application: Application, *, chain: list[str], today: dt.date) -> dict:
    """What the printed 申请审批表 shows besides the row: one line per step of the region's chain,
    with the last decision taken there (blank where none yet, for the signature by hand), the
    submission, the documents and the certificate valid today."""
    steps = application_steps(application)
    decided = {s.step: s for s in steps if s.step}
    return {
        "submitted": next((s for s in steps if not s.step), None),
        "sheet_steps": [(Step(step).label, decided.get(step)) for step in chain],
        "documents": list(application.documents.all()),
        "certificate": facts.valid_certificate(application.person, today),
    }


def review_record(task: ReviewTask, *, user: User) -> dict:
    """What the printed 年度复核 record shows besides the task: the person's grants the user may
    see, the visits of the review's year and the certificate valid at the review's due date."""
    year = task.campaign.year
    return {
        "grants": list(grants_for(user).filter(person_id=task.person_id).order_by("kind")),
        "visits": list(
            Visit.objects.filter(person_id=task.person_id, visited_on__year=year)
            .select_related("visitor")
            .order_by("visited_on")
        ),
        "certificate": facts.valid_certificate(task.person, task.campaign.due_date),
    }


def application_by_number(number: str) -> Application:
    """An application by its number, for the citizen who has just filed it (the caller checks that
    it is theirs), or 404."""
    return get_object_or_404(Application, number=number)


def application_for_citizen(*, number: str, id_number: str) -> Application | None:
    """A citizen's own application: the number and the applicant's ID number must both match."""
    person = person_by_id_number(id_number)
    if person is None:
        return None
    return Application.objects.filter(number=number, person=person).first()


def citizen_payments(application: Application) -> list[dict]:
    """Locked payments of the grants an application opened: what the status page tells the citizen."""
    return list(
        PayrollLine.objects.filter(grant__application=application, payroll__status=PayrollStatus.LOCKED)
        .values("payroll__month", "kind", "bank_status")
        .order_by("-payroll__month")
    )


def grant_history(grant: Grant) -> dict:
    """A grant's periods and changes: what the API's grant detail gives."""
    return {
        "periods": list(grant.periods.all()),
        "changes": list(grant.changes.select_related("actor")),
    }


# A grant's page lists its lines of the last twelve months, or of one year. On PostgreSQL a grant's
# lines lie in the table of every payroll of every month that paid it (a table per payroll): reading
# all of them is planned over every such table, about 0.13 ms each, near 100 ms after five years of
# ten districts; a window on the month paid for reads only its own months' tables (bench/README.md).
RECENT_LINE_MONTHS = 12


def grant_line_years(grant: Grant, periods: list, today: dt.date) -> list[int]:
    """The years whose lines a grant's page offers, newest first: from its first month to now."""
    first = min([grant.start_month, *(p.from_month for p in periods)])
    return list(range(today.year, first.year - 1, -1))


def grant_lines(grant: Grant, *, year: int | None, today: dt.date) -> list[PayrollLine]:
    """A grant's lines of one year, or (None) of the last twelve months and any after them."""
    lines = grant.lines.select_related("payroll").order_by("-month_for", "-id")
    if year is None:
        return list(lines.filter(month_for__gte=add_months(month_start(today), -(RECENT_LINE_MONTHS - 1))))
    return list(lines.filter(month_for__gte=dt.date(year, 1, 1), month_for__lt=dt.date(year + 1, 1, 1)))


def grant_related(grant: Grant, *, year: int | None = None) -> dict:
    """What a grant's page shows besides the row: periods, changes, the lines of the last twelve
    months or of the `year` asked for (one of `line_years`; any other year shows the last months),
    holds and appeals."""
    today = timezone.localdate()
    history = grant_history(grant)
    years = grant_line_years(grant, history["periods"], today)
    year = year if year in years else None
    return {
        **history,
        "line_years": years,
        "line_year": year,
        "lines": grant_lines(grant, year=year, today=today),
        "holds": list(grant.holds.select_related("payroll")[:20]),
        "appeals": list(grant.appeals.select_related("change", "lodged_by", "decided_by").order_by("-id")),
    }


def grant_change(grant: Grant, pk: int | None) -> GrantChange | None:
    """One of the grant's own changes (the one an appeal names), or None."""
    if pk is None:
        return None
    return GrantChange.objects.filter(grant=grant, pk=pk).first()


def campaign_size(campaign: ReviewCampaign) -> int:
    return ReviewTask.objects.filter(campaign=campaign).count()


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


def payroll_lines(payroll: Payroll) -> QuerySet[PayrollLine]:
    """The lines of a payroll already read through `payrolls_for`, in the order the reviewer reads
    them: street, person, kind, month."""
    return (
        PayrollLine.objects.filter(payroll=payroll)
        .select_related("person", "street")
        .order_by("street_id", "person__name", "person_id", "kind", "month_for", "id")
    )


def payroll_line_totals(lines: QuerySet[PayrollLine]) -> dict:
    """Count and sum of (filtered) lines, quantized: SQLite's SUM can come back without its cents."""
    totals = lines.order_by().aggregate(n=Count("id"), total=Sum("amount"))
    return {"n": totals["n"], "total": (totals["total"] or Decimal("0")).quantize(Decimal("0.01"))}


def payroll_streets(payroll: Payroll) -> list[tuple[str, str]]:
    """The streets the payroll's lines are in, for its street filter."""
    return list(
        Region.objects.filter(
            code__in=PayrollLine.objects.filter(payroll=payroll).values("street_id").distinct()
        )
        .order_by("code")
        .values_list("code", "name")
    )


def current_standards() -> QuerySet[Standard]:
    return Standard.objects.select_related("region").order_by("region_id", "kind", "grade_min", "-valid_from")


def indicators(user: User, *, months: int = 12, today: dt.date | None = None) -> dict:
    """Month by month, in the user's area: recipients by kind, new approvals, stops by reason, amounts
    paid, arrears and recoveries, and the rates of the seed article (覆盖率 by kind, from `coverage`).
    A few grouped queries."""
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
    # The latest month that has been paid (the current one may not be computed yet).
    latest = next((r for r in reversed(rows) if r["living"] or r["care"]), {})
    paid_now = latest.get("living", 0) + latest.get("care", 0)
    documented = active.filter(application__documents__isnull=False).values("pk").distinct().count()
    return {
        "rows": rows,
        "coverage": coverage(user, today=today),
        "payment_rate": _rate(paid_now, active.count()),
        "file_rate": _rate(documented, active.count()),
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


# The regions a jurisdiction's figures are broken down by: one level below, as `reports` does.
_CHILD_DIGITS = {
    RegionLevel.PROVINCE: 4,
    RegionLevel.CITY: 6,
    RegionLevel.DISTRICT: 9,
    RegionLevel.STREET: 12,
    RegionLevel.COMMUNITY: 12,
}


def coverage(user: User, *, today: dt.date | None = None) -> dict:
    """覆盖率 of each kind in the user's jurisdiction and each region one level below it, on `today`.

    The denominator (应享) is everyone eligible under the rules an application is judged by, in
    the district the application would go to; the numerator (已享) those of them with an active grant
    of the kind in that district this month, so the rate never exceeds 100 %. Grants paid to people
    who are not (or no longer) eligible are counted apart (不符合条件仍在享受), by the grant's place,
    for officers to look into; they are in neither side of the rate. Five grouped queries, two for
    the terms and one for the names of the regions."""
    today = today or timezone.localdate()
    month = month_start(today)
    region = user.jurisdiction if user.is_authenticated else None
    kinds = {k: {"due": 0, "covered": 0, "over": 0} for k in (Kind.LIVING, Kind.CARE)}
    if region is None or not access.policy(user).reads_people:
        return _coverage_figures(today, kinds, {}, {})
    level = RegionLevel(region.level)
    within = region.code[: LEVEL_DIGITS[level]]
    child = _CHILD_DIGITS[level]
    law = district_rules(on=today, within=within)
    people = placed_people().filter(_within_q(within))
    grants = grants_for(user).filter(status=GrantStatus.ACTIVE, start_month__lte=month)
    # A community worker sees grants by residence, which may be paid by another district: judge those
    # by every district's terms. Above, grants lie in `within` like the people.
    grant_law = law if level != RegionLevel.COMMUNITY else district_rules(on=today)
    grant_area = (
        Substr("street_id", 1, child)
        if child <= LEVEL_DIGITS[RegionLevel.STREET]
        else Coalesce("application__community_id", "person__community_id")
    )
    areas: dict[str, dict] = defaultdict(lambda: {k: {"due": 0, "covered": 0, "over": 0} for k in kinds})
    for kind in kinds:
        receiving = Grant.objects.filter(
            person_id=OuterRef("pk"), kind=kind, status=GrantStatus.ACTIVE, start_month__lte=month
        ).filter(Exact(Substr("district_id", 1, 6), Substr(OuterRef("place"), 1, 6)))
        for row in (
            people.filter(law.q(kind, place=F("place")))
            .values(area=Substr("place", 1, child))
            .annotate(due=Count("pk"), covered=Count("pk", filter=Q(Exists(receiving))))
            .order_by()
        ):
            areas[row["area"]][kind]["due"] = row["due"]
            areas[row["area"]][kind]["covered"] = row["covered"]
        # A grant is rightly paid when its person is eligible in the district that pays it, as an
        # application there would find; the others are what is left. Counted as the difference, so
        # that the rules stay positive (semi- and anti-joins, not a scan per rule for the negation).
        for row in (
            grants.filter(kind=kind)
            .annotate(place=application_place("person__"))
            .filter(Exact(Substr("place", 1, 6), Substr("district_id", 1, 6)))
            .filter(grant_law.q(kind, place=F("place"), prefix="person__"))
            .values(area=grant_area)
            .annotate(n=Count("pk"))
            .order_by()
        ):
            areas[row["area"]][kind]["over"] -= row["n"]
    for row in grants.values("kind", area=grant_area).annotate(n=Count("pk")).order_by():
        areas[row["area"]][row["kind"]]["over"] += row["n"]
    for figures in areas.values():
        for kind, n in figures.items():
            for key in ("due", "covered", "over"):
                kinds[kind][key] += n[key]
    names = dict(
        Region.objects.filter(code__in=[a.ljust(12, "0") for a in areas]).values_list("code", "name")
    )
    return _coverage_figures(today, kinds, areas, names)


def _coverage_figures(today: dt.date, kinds: dict, areas: dict, names: dict) -> dict:
    def with_rate(n: dict) -> dict:
        return {**n, "rate": _rate(n["covered"], n["due"])}

    def by_kind(figures: dict, **extra) -> dict:
        living, care = with_rate(figures[Kind.LIVING]), with_rate(figures[Kind.CARE])
        return {**extra, "living": living, "care": care, "kinds": [living, care]}

    return {
        **by_kind(kinds, on=today, over=sum(n["over"] for n in kinds.values())),
        "areas": [
            by_kind(figures, code=code.ljust(12, "0"), name=names.get(code.ljust(12, "0"), code))
            for code, figures in sorted(areas.items())
        ],
    }


def grants_overview(user: User) -> dict:
    grants = grants_for(user)
    counts = {
        (row["kind"], row["status"]): row["n"]
        for row in grants.values("kind", "status").annotate(n=Count("id"))
    }
    return {"counts": counts, "recalc": grants.filter(~Q(recalc_from=None)).count()}


def review_tasks_for(user: User) -> QuerySet[ReviewTask]:
    return ReviewTask.objects.filter(
        access.area_q(
            user, district="campaign__district_id", street="street_id", community="person__community_id"
        )
    ).select_related("person", "street", "campaign", "assigned_to")


def visitors_for(user: User) -> QuerySet[User]:
    """The community workers within the user's jurisdiction, to whom review visits may be sent."""
    region = user.jurisdiction_id if user.is_authenticated else None
    if not region or access.policy(user).subsidy_step not in ("street", "district"):
        return User.objects.none()
    prefix = region[: LEVEL_DIGITS[level_of_code(region)]]
    return (
        User.objects.filter(role=Role.COMMUNITY_WORKER, is_active=True, jurisdiction__code__startswith=prefix)
        .select_related("jurisdiction")
        .order_by("jurisdiction_id", "username")
    )


def not_yet_seen(user: User, *, today: dt.date | None = None):
    """Recipients in the user's area with no visit in the current half-year: the visit worklist."""
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


def person_tab_context(request, person: Person) -> dict:
    """The 两项补贴 tab of a person's record: their grants and applications as the user may see them
    (scoped like the lists, bank accounts masked); roles that do not read civil affairs see none."""
    user = request.user
    if not access.policy(user).reads_civil_affairs:
        return {"subsidies_hidden": True}
    grants = list(grants_for(user).filter(person=person).order_by("kind", "id"))
    for grant in grants:
        grant.masked_account = mask_account(grant.bank_account)
    return {
        "subsidy_grants": grants,
        "subsidy_applications": list(
            applications_for(user).filter(person=person).order_by("-applied_on", "-id")[:50]
        ),
        "subsidy_reviews": list(
            review_tasks_for(user).filter(person=person).order_by("-campaign__year")[:10]
        ),
    }
