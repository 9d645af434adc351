"""Reads of the 精康 programme, already scoped to the user.

Who sees what: civil-affairs administrators (`reads_rehab_stats`: the city's and the districts') see
the funds held in their jurisdiction and the contracts of institutions in it or paid from those funds;
an institution's staff see their own institution's contracts, never the funds. Delivered volumes come
from rehab's counters (`rehab.selectors_delivery`), by month, never typed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from kangfu.core import access
from kangfu.core.models import LEVEL_DIGITS, Organisation, OrganisationKind, RegionLevel, User
from kangfu.core.months import add_months
from kangfu.programme.models import (
    Checklist,
    ChecklistItem,
    ChecklistVersion,
    Contract,
    Finding,
    FindingPhoto,
    Fund,
    FundMovement,
    Milestone,
    MilestoneStatus,
    PaymentRequest,
    PaymentStatus,
    RectificationStatus,
    Visit,
    VisitScore,
)
from kangfu.rehab import selectors_delivery as delivery

VOLUMES = ("people", "sessions", "people_times", "follow_ups", "staff_trained")
VOLUME_LABELS = {
    "people": "新入组服务对象（人）",
    "sessions": "服务场次",
    "people_times": "服务人次",
    "follow_ups": "随访（次）",
    "staff_trained": "培训人员（人）",
}
SERVICE_TYPES = delivery.SERVICE_TYPES
SERVICE_TYPE_VALUES = delivery.SERVICE_TYPE_VALUES
SERVICE_TYPE_LABELS = dict(SERVICE_TYPES)


def manages(user: User) -> bool:
    """Civil-affairs administrators (city and district) manage the programme's money and contracts."""
    return access.policy(user).reads_rehab_stats


def _jurisdiction_q(user: User, field: str) -> Q:
    """Rows whose region column `field` lies in the user's jurisdiction (a code range, so the
    district-first indexes serve it on both databases)."""
    region = user.jurisdiction if user.is_authenticated else None
    if region is None:
        return Q(pk__in=[])
    prefix = region.code[: LEVEL_DIGITS[RegionLevel(region.level)]]
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return Q(**{f"{field}_id__gte": prefix.ljust(12, "0"), f"{field}_id__lt": upper.ljust(12, "0")})


# ------------------------------------------------------------------ funds


def funds_for(user: User) -> QuerySet[Fund]:
    if not manages(user):
        return Fund.objects.none()
    return Fund.objects.filter(_jurisdiction_q(user, "region")).select_related("region")


def fund_get_for_user(*, user: User, pk) -> Fund:
    try:
        return funds_for(user).get(pk=pk)
    except (Fund.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def movements_of(fund: Fund) -> QuerySet[FundMovement]:
    return fund.movements.select_related("contract", "actor").order_by("-at", "-id")


def fund_totals(funds: QuerySet[Fund]) -> dict:
    """Budget, allocated, spent, committed and remaining over these funds, for the page's figures."""
    from django.db.models import Sum

    sums = funds.aggregate(amount=Sum("amount"), allocated=Sum("allocated"), spent=Sum("spent"))
    amount, allocated, spent = (sums[k] or 0 for k in ("amount", "allocated", "spent"))
    return {
        "amount": amount,
        "allocated": allocated,
        "spent": spent,
        "committed": allocated - spent,
        "remaining": amount - allocated,
    }


# ------------------------------------------------------------------ contracts


def contract_q(user: User) -> Q:
    q = Q(pk__in=[])
    if manages(user):
        q |= _jurisdiction_q(user, "district") | _jurisdiction_q(user, "fund__region")
    ids = access.rehab_org_ids(user)
    if ids:
        q |= Q(institution_id__in=ids)
    return q


def contracts_for(user: User) -> QuerySet[Contract]:
    return Contract.objects.filter(contract_q(user)).select_related("institution", "purchaser", "fund")


def contract_get_for_user(*, user: User, pk) -> Contract:
    try:
        return contracts_for(user).select_related("fund__region", "district").get(pk=pk)
    except (Contract.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def milestone_get_for_user(*, user: User, pk) -> Milestone:
    try:
        return Milestone.objects.select_related("contract", "contract__fund").get(
            Q(pk=pk) & Q(contract__in=Contract.objects.filter(contract_q(user)))
        )
    except (Milestone.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def payments_for(user: User) -> QuerySet[PaymentRequest]:
    return PaymentRequest.objects.filter(
        contract__in=Contract.objects.filter(contract_q(user))
    ).select_related("contract", "contract__institution", "milestone", "requested_by", "decided_by")


def payment_get_for_user(*, user: User, pk) -> PaymentRequest:
    try:
        return payments_for(user).get(pk=pk)
    except (PaymentRequest.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def institutions_for(user: User) -> QuerySet[Organisation]:
    """Institutions a contract may be made with: rehab institutions in the user's jurisdiction."""
    if not manages(user):
        return Organisation.objects.none()
    return Organisation.objects.filter(
        _jurisdiction_q(user, "region"), kind=OrganisationKind.REHAB_INSTITUTION, is_active=True
    ).order_by("region_id", "name")


def sites_for(user: User) -> QuerySet[Organisation]:
    """The service sites of those institutions."""
    return Organisation.objects.filter(
        parent__in=institutions_for(user), kind=OrganisationKind.REHAB_SITE, is_active=True
    ).order_by("name")


def pending_payments(user: User) -> int:
    """Payment requests waiting for the user's approval (the menu badge): one count."""
    if not manages(user):
        return 0
    return payments_for(user).filter(status=PaymentStatus.PENDING).exclude(requested_by=user).count()


# ------------------------------------------------------------------ delivered volumes


def months_of(contract: Contract) -> list[dt.date]:
    """The months a contract's volumes are counted over: the counters are monthly, so the first and
    last months count whole."""
    months, month = [], contract.starts_on.replace(day=1)
    while month <= contract.ends_on:
        months.append(month)
        month = add_months(month, 1)
    return months


@dataclass
class Delivery:
    """What a contract delivered: per month, and over the months so far."""

    # {"month": date, "people": n, …, "running": {"people": n, …}} for each month of the period
    months: list[dict] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    def shortfalls(self, required) -> list[tuple[str, int, int]]:
        """(volume, required, delivered) for each volume `required` (a contract or a milestone) asks
        for and the delivery does not reach."""
        return [
            (v, getattr(required, v), self.totals.get(v, 0))
            for v in VOLUMES
            if getattr(required, v) > self.totals.get(v, 0)
        ]


def _sites(contracts: list[Contract]) -> dict[int, frozenset[int]]:
    """{contract: the sites it names}, one read for all of them: empty where it names none."""
    named: dict[int, set[int]] = defaultdict(set)
    for contract_id, site_id in Contract.sites.through.objects.filter(
        contract_id__in=[c.pk for c in contracts]
    ).values_list("contract_id", "organisation_id"):
        named[contract_id].add(site_id)
    return {c.pk: frozenset(named.get(c.pk, ())) for c in contracts}


@dataclass(frozen=True)
class _Scope:
    """What of an institution's counters a contract counts: the service types it bought, and, where
    it names sites, only the sessions held at them (enrolments and follow-ups are the institution's
    case work, not held at a site, and count whatever the sites)."""

    types: frozenset[str]
    sites: frozenset[int]

    @classmethod
    def of(cls, contract: Contract, sites: dict[int, frozenset[int]]) -> _Scope:
        return cls(frozenset(contract.service_types), sites[contract.pk])

    def add(self, totals: dict[str, int], site: int | None, measure: str, key: str, n: int) -> None:
        """One counter into a contract's volumes."""
        if measure == "enrolled":
            totals["people"] += n
        elif measure == "follow_ups":
            totals["follow_ups"] += n
        elif key not in self.types or (self.sites and site not in self.sites):
            return
        elif measure == "activities":
            totals["sessions"] += n
        elif measure in ("patient_times", "family_times"):
            totals["people_times"] += n


def deliveries(contracts: list[Contract]) -> dict[int, Delivery]:
    """Each contract's delivery, from three grouped reads (rehab's counters, training records, the
    contracts' sites) whatever the number of contracts: a service type outside a contract's scope, or
    a session at a site it does not name, does not count."""
    if not contracts:
        return {}
    ids = {c.institution_id for c in contracts}
    first = min(c.starts_on for c in contracts)
    last = max(c.ends_on for c in contracts)
    counts: dict[tuple[int, dt.date], list[tuple[int | None, str, str, int]]] = defaultdict(list)
    for inst, site, month, measure, key, n in delivery.monthly_counts(
        institution_ids=ids, first=first, last=last
    ):
        counts[(inst, month)].append((site, measure, key, n))
    trained: dict[tuple[int, dt.date], set[int]] = defaultdict(set)
    for inst, staff, month in delivery.trained_staff(institution_ids=ids, first=first, last=last):
        trained[(inst, month)].add(staff)
    sites = _sites(contracts)

    out = {}
    for contract in contracts:
        scope = _Scope.of(contract, sites)
        result = Delivery(totals=dict.fromkeys(VOLUMES, 0))
        everyone: set[int] = set()
        for month in months_of(contract):
            row = dict.fromkeys(VOLUMES, 0)
            for site, measure, key, n in counts.get((contract.institution_id, month), ()):
                scope.add(row, site, measure, key, n)
            staff = trained.get((contract.institution_id, month), set())
            row["staff_trained"] = len(staff)
            everyone |= staff
            for v in VOLUMES:
                if v != "staff_trained":
                    result.totals[v] += row[v]
            # Running totals to the end of the month; a person trained in two months is one person.
            running = {**result.totals, "staff_trained": len(everyone)}
            result.months.append({"month": month, **row, "running": running})
        # A person trained in two months is one person trained under the contract.
        result.totals["staff_trained"] = len(everyone)
        out[contract.pk] = result
    return out


def delivery_totals(contracts: list[Contract]) -> dict[int, dict[str, int]]:
    """Each contract's delivered volumes over its whole period, for lists: one read of the counters
    (summed in the database over each distinct contract period at once, so a city's contracts of
    every year and half-year cost what one period does), one of training and one of the sites."""
    out = {c.pk: dict.fromkeys(VOLUMES, 0) for c in contracts}
    if not contracts:
        return out
    periods: dict[tuple[dt.date, dt.date], list[Contract]] = defaultdict(list)
    for c in contracts:
        periods[(c.starts_on.replace(day=1), c.ends_on.replace(day=1))].append(c)
    counted = delivery.period_counts(
        institution_ids={c.institution_id for c in contracts}, periods=list(periods)
    )
    sites = _sites(contracts)
    for period, group in periods.items():
        by_inst: dict[int, list[tuple[int | None, str, str, int]]] = defaultdict(list)
        for inst, site, measure, key, n in counted[period]:
            by_inst[inst].append((site, measure, key, n))
        for c in group:
            scope = _Scope.of(c, sites)
            for site, measure, key, n in by_inst.get(c.institution_id, ()):
                scope.add(out[c.pk], site, measure, key, n)
    trained: dict[int, list[tuple[int, dt.date]]] = defaultdict(list)
    for inst, staff, month in delivery.trained_staff(
        institution_ids={c.institution_id for c in contracts},
        first=min(c.starts_on for c in contracts),
        last=max(c.ends_on for c in contracts),
    ):
        trained[inst].append((staff, month))
    for c in contracts:
        first, last = c.starts_on.replace(day=1), c.ends_on.replace(day=1)
        out[c.pk]["staff_trained"] = len(
            {s for s, m in trained.get(c.institution_id, ()) if first <= m <= last}
        )
    return out


def delivery_of(contract: Contract) -> Delivery:
    return deliveries([contract])[contract.pk]


def milestones_of(contract: Contract) -> list[Milestone]:
    return list(contract.milestones.order_by("seq"))


def open_milestones(contract: Contract) -> list[Milestone]:
    return [m for m in milestones_of(contract) if m.status == MilestoneStatus.OPEN]


def payments_of(contract: Contract) -> QuerySet[PaymentRequest]:
    return contract.payments.select_related("milestone", "requested_by", "decided_by").order_by(
        "-requested_at", "-id"
    )


# ------------------------------------------------------------------ supervision


def checklists() -> QuerySet[Checklist]:
    """The checklists (the city's standards; every administrator reads them)."""
    return Checklist.objects.order_by("code")


def checklist_get(*, pk) -> Checklist:
    try:
        return Checklist.objects.get(pk=pk)
    except (Checklist.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def versions_of(checklist: Checklist) -> list[ChecklistVersion]:
    return list(
        checklist.versions.prefetch_related("items").annotate(n_visits=Count("visits")).order_by("-number")
    )


def current_versions() -> QuerySet[ChecklistVersion]:
    return (
        ChecklistVersion.objects.filter(is_current=True)
        .select_related("checklist")
        .order_by("checklist__code")
    )


def items_of(version: ChecklistVersion) -> list[ChecklistItem]:
    return list(version.items.order_by("seq"))


def visit_q(user: User) -> Q:
    q = Q(pk__in=[])
    if manages(user):
        q |= _jurisdiction_q(user, "district")
    ids = access.rehab_org_ids(user)
    if ids:
        q |= Q(institution_id__in=ids)
    return q


def visits_for(user: User) -> QuerySet[Visit]:
    return (
        Visit.objects.filter(visit_q(user))
        .select_related("institution", "version__checklist")
        .annotate(
            n_findings=Count("findings"),
            n_open=Count("findings", filter=~Q(findings__status=RectificationStatus.VERIFIED)),
        )
    )


def visit_get_for_user(*, user: User, pk) -> Visit:
    try:
        return (
            Visit.objects.filter(visit_q(user))
            .select_related("institution", "version__checklist", "contract")
            .get(pk=pk)
        )
    except (Visit.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def finding_get_for_user(*, user: User, pk) -> Finding:
    try:
        return Finding.objects.select_related("visit", "visit__institution").get(
            pk=pk, visit__in=Visit.objects.filter(visit_q(user))
        )
    except (Finding.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def scores_of(visit: Visit) -> QuerySet[VisitScore]:
    return visit.scores.select_related("item").order_by("item__seq")


def findings_of(visit: Visit) -> QuerySet[Finding]:
    return (
        visit.findings.select_related("answered_by", "verified_by").prefetch_related("photos").order_by("id")
    )


def finding_photo_get_for_user(*, user: User, pk) -> FindingPhoto:
    try:
        return FindingPhoto.objects.select_related("finding").get(
            pk=pk, finding__visit__in=Visit.objects.filter(visit_q(user))
        )
    except (FindingPhoto.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def contracts_of_institution(user: User, institution_id: int) -> QuerySet[Contract]:
    return Contract.objects.filter(contract_q(user), institution_id=institution_id)
