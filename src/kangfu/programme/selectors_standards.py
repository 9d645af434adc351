"""Reads of the scored standards (考核标准, 验收标准), the yearly assessment computed from the standard
in force for the year, and contracts' acceptances, scoped to the user like `selectors`.

Indicators are percentages counted from rehab's records (`rehab.selectors_delivery`), never typed; an
indicator an institution or contract has no data for is left out and the other items carry its weight.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q, QuerySet
from django.http import Http404

from kangfu.core.models import Region, RegionLevel, User
from kangfu.programme import selectors
from kangfu.programme.models import (
    Acceptance,
    AcceptanceStatus,
    Contract,
    Standard,
    StandardItem,
    StandardPurpose,
    StandardVersion,
    Visit,
)
from kangfu.programme.standards import ASSESSMENT_CODE, INDICATORS, SHIPPED
from kangfu.rehab import selectors_delivery as delivery

TENTH = Decimal("0.1")


def _tenth(value) -> Decimal:
    return Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------ standards


def standards() -> QuerySet[Standard]:
    """The standards (the city's; every administrator reads them) with their current version."""
    return Standard.objects.order_by("purpose", "code")


def current_standard_versions(purpose: str | None = None) -> QuerySet[StandardVersion]:
    rows = StandardVersion.objects.filter(is_current=True).select_related("standard")
    if purpose:
        rows = rows.filter(standard__purpose=purpose)
    return rows.order_by("standard__purpose", "standard__code")


def standard_get(*, pk) -> Standard:
    try:
        return Standard.objects.get(pk=pk)
    except (Standard.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def standard_versions_of(standard: Standard) -> list[StandardVersion]:
    return list(
        standard.versions.prefetch_related("items")
        .annotate(n_acceptances=Count("acceptances"))
        .order_by("-number")
    )


def standard_items_of(version: StandardVersion) -> list[StandardItem]:
    return list(version.items.order_by("seq"))


def assessment_version(year: int) -> StandardVersion | None:
    """The assessment standard's version in force for `year`: the newest whose first year is not
    after it."""
    return (
        StandardVersion.objects.filter(standard__code=ASSESSMENT_CODE, year_from__lte=year)
        .select_related("standard")
        .order_by("-number")
        .first()
    )


def _shipped_items(code: str, year: int) -> list[StandardItem]:
    """The shipped items for the year, unsaved: what the assessment uses where the shipped rows are
    missing (a database emptied by hand), so it never falls back on anything but the shipped weights."""
    versions = [v for v in SHIPPED[code]["versions"] if v["year_from"] <= year] or SHIPPED[code]["versions"][
        :1
    ]
    return [
        StandardItem(
            seq=n,
            kind=kind,
            indicator=ind,
            text=text,
            min_score=Decimal(low),
            max_score=Decimal(high),
            weight=Decimal(w),
        )
        for n, (kind, ind, text, low, high, w) in enumerate(versions[-1]["items"], start=1)
    ]


def assessment_items(year: int) -> tuple[StandardVersion | None, list[StandardItem]]:
    version = assessment_version(year)
    if version is None:
        return None, _shipped_items(ASSESSMENT_CODE, year)
    return version, standard_items_of(version)


def weighted_total(items: list[StandardItem], values: dict) -> Decimal | None:
    """Out of 100: each item's share of its range, weighted; items without a value left out (the
    others carry their weight)."""
    got, weight = Decimal(0), Decimal(0)
    for item in items:
        value = values.get(item.indicator or item.pk)
        if value is None:
            continue
        share = (Decimal(value) - item.min_score) / (item.max_score - item.min_score)
        got += min(max(share, Decimal(0)), Decimal(1)) * 100 * item.weight
        weight += item.weight
    return _tenth(got / weight) if weight else None


# ------------------------------------------------------------------ indicators


def _percent(part, whole) -> Decimal | None:
    if not whole:
        return None
    return _tenth(Decimal(part) * 100 / Decimal(whole))


def _completion(contracts: list[Contract], figures: dict[int, dict[str, int]]) -> Decimal | None:
    """Each contracted volume delivered, capped at 100%, averaged over the contracts' volumes:
    over-delivering one volume does not make up for another."""
    shares = [
        min(Decimal(figures[c.pk][v]) / getattr(c, v), Decimal(1))
        for c in contracts
        for v in selectors.VOLUMES
        if getattr(c, v)
    ]
    if not shares:
        return None
    return _tenth(sum(shares) * 100 / len(shares))


def _indicators(
    needed: set[str], ids: list[int], year: int, contracts: list[Contract], by_inst: bool = True
) -> dict[str, dict[int, Decimal | None]]:
    """{indicator: {institution: value}} for the indicators `needed`: one grouped read each."""
    out: dict[str, dict[int, Decimal | None]] = {}
    if "delivery" in needed:
        figures = selectors.delivery_totals(contracts)
        out["delivery"] = {
            i: _completion([c for c in contracts if c.institution_id == i], figures) for i in ids
        }
    if "follow_ups" in needed:
        follow = delivery.follow_up_timeliness(institution_ids=ids, year=year)
        out["follow_ups"] = {
            i: _percent(follow[i][0] - follow[i][1], follow[i][0]) if i in follow else None for i in ids
        }
    if "outcomes" in needed:
        outcomes = delivery.outcome_improvement(institution_ids=ids)
        out["outcomes"] = {i: _percent(*outcomes[i]) if i in outcomes else None for i in ids}
    if "training" in needed:
        training = delivery.training_compliance(institution_ids=ids, year=year)
        out["training"] = {
            i: _percent(training[i][1], training[i][0]) if i in training else None for i in ids
        }
    if "supervision" in needed:
        visits = dict(
            Visit.objects.filter(institution_id__in=ids, year=year)
            .values("institution_id")
            .annotate(avg=Avg("score"))
            .order_by()
            .values_list("institution_id", "avg")
        )
        out["supervision"] = {i: _tenth(visits[i]) if visits.get(i) is not None else None for i in ids}
    if "acceptance" in needed:
        accepted = dict(
            Acceptance.objects.filter(
                contract__institution_id__in=ids,
                contract__ends_on__year=year - 1,
                status=AcceptanceStatus.CONFIRMED,
            )
            .values("contract__institution_id")
            .annotate(avg=Avg("score"))
            .order_by()
            .values_list("contract__institution_id", "avg")
        )
        out["acceptance"] = {i: _tenth(accepted[i]) if accepted.get(i) is not None else None for i in ids}
    if "satisfaction" in needed:
        answers = delivery.satisfaction_by_institution(institution_ids=ids, year=year)
        out["satisfaction"] = {i: _tenth(answers[i][1] * 20) if i in answers else None for i in ids}
    return out


# ------------------------------------------------------------------ the year's assessment (考核)


def assessment_labels(year: int) -> list[tuple[str, str, Decimal]]:
    """(indicator, label, weight) of the standard in force for the year, for the page's columns."""
    _, items = assessment_items(year)
    return [(i.indicator, i.text, i.weight) for i in items]


def assessment(user: User, *, year: int) -> list[dict]:
    """The year's assessment of every institution in the user's jurisdiction by the standard in force
    for the year, ranked within each district: a handful of grouped reads whatever the count."""
    _, items = assessment_items(year)
    institutions = list(selectors.institutions_for(user).select_related("region"))
    ids = [o.pk for o in institutions]
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    year_contracts = list(
        Contract.objects.filter(
            selectors.contract_q(user), institution_id__in=ids, starts_on__lte=last, ends_on__gte=first
        )
    )
    figures = _indicators({i.indicator for i in items}, ids, year, year_contracts)
    rows = []
    for inst in institutions:
        indicators = {i.indicator: figures.get(i.indicator, {}).get(inst.pk) for i in items}
        total = weighted_total(items, indicators)
        district = inst.region.ancestor(RegionLevel.DISTRICT)
        rows.append({"institution": inst, "district": district, "indicators": indicators, "total": total})
    rows.sort(key=lambda r: (r["district"], r["total"] is None, -(r["total"] or 0), r["institution"].name))
    names = dict(Region.objects.filter(code__in={r["district"] for r in rows}).values_list("code", "name"))
    rank, current = 0, None
    for row in rows:
        row["district_name"] = names.get(row["district"], row["district"])
        rank = 1 if row["district"] != current else rank + 1
        current = row["district"]
        row["rank"] = rank if row["total"] is not None else None
    return rows


# ------------------------------------------------------------------ acceptance (验收)


def contract_indicators(contract: Contract, items: list[StandardItem]) -> dict[str, Decimal | None]:
    """The automatic indicators of an acceptance standard for one contract: its delivery against its
    volumes over its whole period, the rest for its institution in the year the contract ended."""
    needed = {i.indicator for i in items if i.indicator}
    figures = _indicators(needed, [contract.institution_id], contract.ends_on.year, [contract])
    return {k: v.get(contract.institution_id) for k, v in figures.items()}


def acceptance_q(user: User) -> Q:
    return Q(contract__in=Contract.objects.filter(selectors.contract_q(user)))


def acceptances_for(user: User) -> QuerySet[Acceptance]:
    return Acceptance.objects.filter(acceptance_q(user)).select_related(
        "contract", "contract__institution", "version__standard", "scored_by", "confirmed_by"
    )


def acceptance_get_for_user(*, user: User, pk) -> Acceptance:
    try:
        return acceptances_for(user).get(pk=pk)
    except (Acceptance.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def acceptances_of(contract: Contract) -> list[Acceptance]:
    return list(
        contract.acceptances.select_related("version__standard", "scored_by", "confirmed_by")
        .prefetch_related("scores__item")
        .order_by("-scored_at", "-id")
    )


def live_acceptance(contract: Contract) -> Acceptance | None:
    """The contract's acceptance waiting for confirmation or confirmed (at most one)."""
    return (
        contract.acceptances.filter(status__in=[AcceptanceStatus.SCORED, AcceptanceStatus.CONFIRMED])
        .order_by("-id")
        .first()
    )


def acceptance_standards() -> QuerySet[StandardVersion]:
    return current_standard_versions(StandardPurpose.ACCEPTANCE)


def indicator_label(key: str) -> str:
    return INDICATORS[key].label if key in INDICATORS else key
