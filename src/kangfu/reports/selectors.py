"""Aggregates over the registry, and the reports of a unit and of the units below it, scoped like every
other read: a district's officers see their district's reports, a city's see the city's and its
districts'; anything else is answered as if it did not exist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Max, QuerySet
from django.http import Http404

from kangfu.core import access
from kangfu.core.models import Region, RegionLevel, Role, User
from kangfu.people.models import CertificateStatus, DisabilityCategory, DisabilityCertificate, Person
from kangfu.reports.models import Generation, GenerationStatus, Report, ReportDefinition, ReportStatus
from kangfu.reports.rules import Period, last_closed

_CHILD_FIELD = {
    RegionLevel.PROVINCE: "city_id",
    RegionLevel.CITY: "district_id",
    RegionLevel.DISTRICT: "street_id",
    RegionLevel.STREET: "community_id",
    RegionLevel.COMMUNITY: "community_id",
}


def people_by_subregion(*, user: User) -> list[tuple[str, int]]:
    """(region name, people) for each region one level below the user's jurisdiction."""
    region = user.jurisdiction
    if region is None:
        return []
    field = _CHILD_FIELD[RegionLevel(region.level)]
    rows = (
        access.scope_people(Person.objects.all(), user).values(field).annotate(n=Count("id")).order_by(field)
    )
    names = dict(Region.objects.filter(code__in=[r[field] for r in rows]).values_list("code", "name"))
    return [(names.get(r[field], r[field]), r["n"]) for r in rows]


def certificates_by_category(*, user: User) -> list[tuple[str, int]]:
    rows = (
        access.scope_people(
            DisabilityCertificate.objects.filter(status=CertificateStatus.VALID), user, prefix="person__"
        )
        .values("category")
        .annotate(n=Count("id"))
        .order_by("category")
    )
    labels = dict(DisabilityCategory.choices)
    return [(labels[r["category"]], r["n"]) for r in rows]


# ------------------------------------------------------------------ 上报

_REPORTING_ROLES = {Role.DISTRICT_ADMIN: RegionLevel.DISTRICT, Role.CITY_ADMIN: RegionLevel.CITY}


def reporting_unit(user: User) -> Region | None:
    """The unit a user files reports for: a district's or a city's civil-affairs administrator
    reports for their jurisdiction; nobody else files."""
    region = user.jurisdiction if user.is_authenticated else None
    if region is None or not access.policy(user).reads_civil_affairs:
        return None
    return region if _REPORTING_ROLES.get(user.role) == region.level else None


def definitions_current() -> list[ReportDefinition]:
    """The newest active version of every report definition."""
    newest = ReportDefinition.objects.filter(is_active=True).values("code").annotate(v=Max("version"))
    found = {(r["code"], r["v"]) for r in newest}
    return [
        d
        for d in ReportDefinition.objects.filter(is_active=True).order_by("code")
        if (d.code, d.version) in found
    ]


def definition_current(code: str) -> ReportDefinition | None:
    return ReportDefinition.objects.filter(code=code, is_active=True).order_by("-version").first()


def child_units(unit: Region) -> list[Region]:
    """The units that report to `unit`: a city's current districts."""
    if unit.level != RegionLevel.CITY:
        return []
    return list(
        Region.objects.filter(
            parent_id=unit.code, level=RegionLevel.DISTRICT, successor__isnull=True
        ).order_by("code")
    )


def reports_for(user: User) -> QuerySet[Report]:
    """Reports of the user's unit and of the units reporting to it."""
    unit = reporting_unit(user)
    if unit is None:
        return Report.objects.none()
    return Report.objects.filter(unit_id__in=[unit.code, *(u.code for u in child_units(unit))])


def report_for_user(user: User, pk: int) -> Report:
    try:
        return reports_for(user).select_related("definition", "unit").get(pk=pk)
    except (Report.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def generation_for_user(user: User, pk: int) -> Generation:
    """A request to generate a report, seen only by its own unit's users (another's is a 404)."""
    unit = reporting_unit(user)
    try:
        return Generation.objects.select_related("unit", "requested_by").get(
            pk=pk, unit_id=unit.code if unit is not None else None
        )
    except (Generation.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def versions_of(report: Report) -> list[Report]:
    return list(
        Report.objects.filter(code=report.code, unit_id=report.unit_id, period_start=report.period_start)
        .select_related("submitted_by", "returned_by")
        .order_by("-version")
    )


def standing(reports: list[Report]) -> Report | None:
    """Of a unit's versions for a period (newest first), the one the level above counts: the newest
    submitted or returned one (a draft correction leaves the submitted version standing)."""
    return next((r for r in reports if r.status != ReportStatus.DRAFT), None)


def status_label(versions: list[Report]) -> tuple[str, str]:
    """(state, label) of a unit's report for a period: not started, draft, submitted on time or late,
    returned."""
    if not versions:
        return "none", "未开始"
    current = standing(versions)
    if current is None:
        return "draft", "已生成，待上报"
    if current.status == ReportStatus.RETURNED:
        return "returned", "已退回" + (
            "，已重新生成待上报" if versions[0].status == ReportStatus.DRAFT else ""
        )
    late = "逾期上报" if current.is_late else "按时上报"
    return ("late" if current.is_late else "submitted"), f"已上报（{late}）"


def filing_overview(user: User, *, today: dt.date, periods: int = 3) -> list[dict]:
    """For each report, its most recent closed periods and where the user's unit stands in each."""
    unit = reporting_unit(user)
    if unit is None:
        return []
    definitions = definitions_current()
    mine: dict[tuple[str, dt.date], list[Report]] = {}
    for report in Report.objects.filter(unit_id=unit.code).order_by("-version"):
        mine.setdefault((report.code, report.period_start), []).append(report)
    # A generation under way, or one that failed since the period's latest version: the clerk who
    # clicked 生成 and came back sees it here, not only on its own page.
    unfinished: dict[tuple[str, dt.date], Generation] = {}
    for generation in (
        Generation.objects.filter(unit_id=unit.code)
        .exclude(status=GenerationStatus.DONE)
        .order_by("requested_at", "pk")
    ):
        unfinished[(generation.code, generation.period_start)] = generation
    out = []
    for definition in definitions:
        rows = []
        for period in last_closed(definition.period, today, periods):
            versions = mine.get((definition.code, period.start), [])
            state, label = status_label(versions)
            generation = unfinished.get((definition.code, period.start))
            failed_before_latest = (
                generation is not None
                and generation.status == GenerationStatus.FAILED
                and versions
                and versions[0].generated_at >= generation.requested_at
            )
            if failed_before_latest:
                generation = None
            rows.append(
                {
                    "period": period,
                    "state": state,
                    "label": label,
                    "generation": generation,
                    # Not while one is under way (a second click would find it anyway), nor over a
                    # submitted version (a correction is asked for on the report's page).
                    "may_generate": (generation is None or generation.status != GenerationStatus.QUEUED)
                    and (not versions or versions[0].status != ReportStatus.SUBMITTED),
                    "latest": versions[0] if versions else None,
                    "due_on": period.due_on(
                        definition.city_due_day if unit.level == RegionLevel.CITY else definition.due_day
                    ),
                }
            )
        out.append({"definition": definition, "periods": rows})
    return out


def board(user: User, *, definition: ReportDefinition, period: Period) -> dict:
    """A city's view of a period: each district's state, and the city's own report."""
    unit = reporting_unit(user)
    if unit is None or unit.level != RegionLevel.CITY:
        return {"districts": [], "own": []}
    districts = child_units(unit)
    found: dict[str, list[Report]] = {}
    for report in Report.objects.filter(
        code=definition.code, period_start=period.start, unit_id__in=[d.code for d in districts]
    ).order_by("-version"):
        found.setdefault(report.unit_id, []).append(report)
    rows = []
    for district in districts:
        versions = found.get(district.code, [])
        state, label = status_label(versions)
        current = standing(versions)
        rows.append(
            {
                "unit": district,
                "state": state,
                "label": label,
                "standing": current,
                "latest": versions[0] if versions else None,
                "versions": len(versions),
            }
        )
    own = list(
        Report.objects.filter(code=definition.code, period_start=period.start, unit_id=unit.code).order_by(
            "-version"
        )
    )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return {
        "unit": unit,
        "districts": rows,
        "own": own,
        "counts": counts,
        "due_on": period.due_on(definition.due_day),
    }


def submitted_snapshots(*, code: str, period: Period, units: list[str]) -> dict[str, Report]:
    """The standing submitted version of each unit's report for the period (returned ones and drafts
    do not count)."""
    found: dict[str, list[Report]] = {}
    for report in Report.objects.filter(code=code, period_start=period.start, unit_id__in=units).order_by(
        "-version"
    ):
        found.setdefault(report.unit_id, []).append(report)
    out = {}
    for unit, versions in found.items():
        current = standing(versions)
        if current is not None and current.status == ReportStatus.SUBMITTED:
            out[unit] = current
    return out


def trend(user: User, *, definition: ReportDefinition, measure: str, year: int) -> dict:
    """The year's figure of `measure` per district, period by period, from the standing submitted
    snapshots (never from the records): a city's dashboard."""
    unit = reporting_unit(user)
    if unit is None or unit.level != RegionLevel.CITY:
        return {"periods": [], "series": [], "ranking": []}
    districts = child_units(unit)
    names = {d.code: d.name for d in districts}
    reports = Report.objects.filter(
        code=definition.code,
        period_start__gte=dt.date(year, 1, 1),
        period_start__lte=dt.date(year, 12, 31),
        unit_id__in=list(names),
    ).order_by("-version")
    by_key: dict[tuple[str, dt.date], list[Report]] = {}
    for report in reports:
        by_key.setdefault((report.unit_id, report.period_start), []).append(report)
    starts = sorted({start for _u, start in by_key})
    series = []
    latest: dict[str, Decimal | int | None] = {}
    for code, name in names.items():
        values = []
        for start in starts:
            current = standing(by_key.get((code, start), []))
            value = None
            if current is not None and current.status == ReportStatus.SUBMITTED:
                value = current.figures.get("total", {}).get(measure)
                latest[code] = value
            values.append(value)
        if any(v is not None for v in values):
            series.append({"name": name, "values": values})
    ranking = sorted(
        ((names[c], v) for c, v in latest.items() if v is not None),
        key=lambda item: Decimal(str(item[1])),
        reverse=True,
    )
    return {"periods": starts, "series": series, "ranking": ranking}
