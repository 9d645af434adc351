"""Pages of 统计: the registry overview, and 上报 — a unit's reports by period, a report's page (from
its stored figures, never recomputed on reading), its workbook and printable page, the city's board
of its districts and its dashboard."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import access
from kangfu.core.dbrouting import replica_reads
from kangfu.core.exports import xlsx_response
from kangfu.core.models import RegionLevel
from kangfu.reports import exports, measures, selectors, services
from kangfu.reports.counted import counted, counting
from kangfu.reports.models import GenerationStatus, Report, ReportDefinition
from kangfu.reports.rules import Period, parse_period


@login_required
@require_GET
@replica_reads
def overview(request):
    access.require(request.user, "reads_civil_affairs")
    figures = counted(request.user, "people-overview")
    if figures is None:
        return counting(request, "人员概况")
    by_region, by_category = figures["by_region"], figures["by_category"]
    if request.GET.get("export") == "xlsx":
        return _export(request, by_region, by_category)
    charts = {
        "by_region": {"labels": [n for n, _ in by_region], "values": [v for _, v in by_region]},
        "by_category": [{"name": n, "value": v} for n, v in by_category],
    }
    return render(
        request,
        "reports/overview.html",
        {
            "by_region": by_region,
            "by_category": by_category,
            "charts": charts,
            "total": sum(v for _, v in by_region),
            "files_reports": selectors.reporting_unit(request.user) is not None,
            "counted_at": figures["counted_at"],
        },
    )


def _export(request, by_region, by_category):
    """The page's figures as a workbook, a sheet per table, with the total the page states."""
    region = request.user.jurisdiction
    place = region.name if region is not None else ""
    total = sum(v for _, v in by_region)
    return xlsx_response(
        actor=request.user,
        filename="people-overview.xlsx",
        sheets=[
            ("按下级区划", ["区划", "人数"], [*by_region, ["合计", total]]),
            ("持证人员按残疾类别", ["残疾类别", "人数"], by_category),
        ],
        object_type="reports.overview",
        summary=f"导出人员概况（{place}，登记人员 {total} 人）",
        changes={"jurisdiction": region.code if region is not None else ""},
    )


# ------------------------------------------------------------------ 上报


def _unit(request):
    unit = selectors.reporting_unit(request.user)
    if unit is None:
        raise PermissionDenied(services.NOT_A_UNIT)
    return unit


def _definition_and_period(code: str, slug: str) -> tuple[ReportDefinition, Period]:
    definition = selectors.definition_current(code)
    if definition is None:
        raise Http404
    try:
        return definition, parse_period(definition.period, slug)
    except ValidationError:
        raise Http404 from None


@login_required
@require_GET
def filing(request):
    """The unit's reports: each report's recent closed periods and where each stands."""
    unit = _unit(request)
    return render(
        request,
        "reports/filing.html",
        {
            "unit": unit,
            "is_city": unit.level == RegionLevel.CITY,
            "rows": selectors.filing_overview(request.user, today=timezone.localdate()),
        },
    )


@login_required
@require_POST
def generate(request, code: str, period: str):
    """Generate (or regenerate the draft of) the unit's report for the period; a city's aggregates
    its districts' submitted snapshots."""
    _unit(request)
    definition, parsed = _definition_and_period(code, period)
    try:
        generation = services.generation_request(actor=request.user, code=definition.code, period=parsed)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("reports:filing")
    return redirect("reports:generation", pk=generation.pk)


@login_required
@require_GET
def generation_page(request, pk: int):
    """Where a generation stands: while queued the page asks again every two seconds; once made it
    leads to the report, or says why it was not made."""
    generation = selectors.generation_for_user(request.user, pk)
    if generation.status == GenerationStatus.DONE and generation.report_id is not None:
        report = generation.report
        label = Period(report.definition.period, report.period_start).label
        messages.success(request, f"已生成{report.definition.name}（{label}，第 {report.version} 版）。")
        target = reverse("reports:report", args=[report.pk])
        if request.htmx:
            return HttpResponse(headers={"HX-Redirect": target})
        return redirect(target)
    definition = selectors.definition_current(generation.code)
    context = {
        "generation": generation,
        "name": definition.name if definition is not None else generation.code,
        "period": Period(definition.period, generation.period_start) if definition is not None else None,
    }
    if request.htmx:
        return render(request, "reports/partials/generation_status.html", context)
    return render(request, "reports/generation.html", context)


@login_required
@require_GET
def report_page(request, pk: int):
    report = selectors.report_for_user(request.user, pk)
    unit = selectors.reporting_unit(request.user)
    table = exports.table(report)
    return render(
        request,
        "reports/report.html",
        {
            "report": report,
            "table": table,
            "versions": selectors.versions_of(report),
            "period": Period(report.definition.period, report.period_start),
            "mine": unit is not None and unit.code == report.unit_id,
            "above": unit is not None and report.unit.parent_id == unit.code,
            "charts": exports.chart(report, table),
            "definitions": [
                {"label": c["label"], "doc": measures.get(c["measure"]).doc}
                for c in report.figures["definition"]["columns"]
                if c["measure"] in measures.MEASURES
            ],
        },
    )


def _act(request, pk: int, action) -> Report:
    report = selectors.report_for_user(request.user, pk)
    try:
        return action(report)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return report


@login_required
@require_POST
def submit(request, pk: int):
    report = _act(
        request,
        pk,
        lambda r: services.report_submit(actor=request.user, report=r, note=request.POST.get("note", "")),
    )
    if report.status == "submitted":
        messages.success(request, "已上报。")
    return redirect("reports:report", pk=report.pk)


@login_required
@require_POST
def correct(request, pk: int):
    report = selectors.report_for_user(request.user, pk)
    try:
        generation = services.correction_request(
            actor=request.user, report=report, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("reports:report", pk=report.pk)
    return redirect("reports:generation", pk=generation.pk)


@login_required
@require_POST
def return_report(request, pk: int):
    report = _act(
        request,
        pk,
        lambda r: services.report_return(actor=request.user, report=r, reason=request.POST.get("reason", "")),
    )
    if report.status == "returned":
        messages.success(request, f"已退回{report.unit.name}的报表。")
    return redirect("reports:report", pk=report.pk)


@login_required
@require_GET
def report_xlsx(request, pk: int):
    report = selectors.report_for_user(request.user, pk)
    return exports.xlsx_download(actor=request.user, report=report)


@login_required
@require_GET
def report_print(request, pk: int):
    report = selectors.report_for_user(request.user, pk)
    return render(
        request,
        "reports/print_report.html",
        {
            "report": report,
            "table": exports.table(report, links=False),
            "signature": exports.signature(report),
        },
    )


@login_required
@require_GET
def board(request, code: str, period: str):
    """A city's view of a period: every district's state, returns, and the city's own report."""
    unit = _unit(request)
    if unit.level != RegionLevel.CITY:
        raise Http404
    definition, parsed = _definition_and_period(code, period)
    return render(
        request,
        "reports/board.html",
        {
            "definition": definition,
            "period": parsed,
            **selectors.board(request.user, definition=definition, period=parsed),
        },
    )


@login_required
@require_GET
@replica_reads
def dashboard(request):
    """A city's year: each district's figure of an indicator period by period, against the target,
    and the districts ranked on it; all from submitted snapshots."""
    unit = _unit(request)
    if unit.level != RegionLevel.CITY:
        raise Http404
    definitions = selectors.definitions_current()
    code = request.GET.get("report") or (definitions[0].code if definitions else "")
    definition = next((d for d in definitions if d.code == code), None)
    if definition is None:
        raise Http404
    columns = definition.columns
    measure = request.GET.get("measure") or columns[0]["measure"]
    if measure not in {c["measure"] for c in columns}:
        raise Http404
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        raise Http404 from None
    figures = selectors.trend(request.user, definition=definition, measure=measure, year=year)
    labels = [Period(definition.period, start).label for start in figures["periods"]]
    series = [{"name": s["name"], "values": [_number(v) for v in s["values"]]} for s in figures["series"]]
    target = _target(definition, measure, figures["periods"])
    if target is not None:
        series.append({"name": "目标", "values": target})
    charts = {
        "trend": {"labels": labels, "series": series},
        "ranking": {
            "labels": [n for n, _ in figures["ranking"]],
            "values": [_number(v) for _, v in figures["ranking"]],
        },
    }
    return render(
        request,
        "reports/dashboard.html",
        {
            "definitions": definitions,
            "definition": definition,
            "measure": measure,
            "measure_label": next(c["label"] for c in columns if c["measure"] == measure),
            "year": year,
            "years": range(year - 3, year + 1),
            "figures": figures,
            "labels": labels,
            "charts": charts,
        },
    )


def _number(value):
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _target(definition: ReportDefinition, measure: str, starts) -> list | None:
    """The target line of a rate that has one (精康 coverage: the year's target)."""
    if measure != "rehab.coverage" or not starts:
        return None
    target = measures.get("rehab.target")
    return [
        _number(target.compute(measures.Scope(Period(definition.period, s), "120000000000", "unit")).get(""))
        for s in starts
    ]
