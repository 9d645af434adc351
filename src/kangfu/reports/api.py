"""统计上报 endpoints of the REST API: the definitions, a unit's reports and their frozen figures, and
the same generate / submit / return / correct services as the pages, with the same scoping (a unit's
own reports and those of the units reporting to it; anything else is a 404). Generating and correcting
are background work: they answer 202 with the request, which names its report once made."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import Router, Schema, Status

from kangfu.reports import selectors, services
from kangfu.reports.models import Generation, Report
from kangfu.reports.rules import parse_period

router = Router(tags=["统计上报"])


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class ReportColumnOut(Schema):
    measure: str
    label: str


class ReportDefinitionOut(Schema):
    code: str
    version: int
    name: str
    period: str
    rows: str
    columns: list[ReportColumnOut]
    due_day: int
    city_due_day: int


class ReportOut(Schema):
    id: int
    code: str
    unit: str
    period_start: dt.date
    version: int
    status: str
    late: bool
    due_on: dt.date
    submitted_at: dt.datetime | None
    note: str
    correction_reason: str
    return_reason: str
    figures: dict[str, Any]


class GenerationOut(Schema):
    id: int
    code: str
    unit: str
    period_start: dt.date
    status: str
    report_id: int | None
    error: str
    correction_reason: str


class ReportNoteIn(Schema):
    note: str = ""


class ReportReasonIn(Schema):
    reason: str


def _out(report: Report) -> dict:
    return {
        "id": report.pk,
        "code": report.code,
        "unit": report.unit_id,
        "period_start": report.period_start,
        "version": report.version,
        "status": report.status,
        "late": report.is_late,
        "due_on": report.due_on,
        "submitted_at": report.submitted_at,
        "note": report.note,
        "correction_reason": report.correction_reason,
        "return_reason": report.return_reason,
        "figures": report.figures,
    }


def _generation_out(generation: Generation) -> dict:
    return {
        "id": generation.pk,
        "code": generation.code,
        "unit": generation.unit_id,
        "period_start": generation.period_start,
        "status": generation.status,
        "report_id": generation.report_id,
        "error": generation.error,
        "correction_reason": generation.correction_reason,
    }


def _unit(user) -> None:
    if selectors.reporting_unit(user) is None:
        raise PermissionDenied(services.NOT_A_UNIT)


@router.get(
    "/definitions",
    response={200: list[ReportDefinitionOut], 403: ErrorOut},
    summary="报表定义（各报表的最新版本）",
)
def list_definitions(request):
    _unit(request.user)
    return selectors.definitions_current()


@router.get(
    "/reports",
    response={200: list[ReportOut], 403: ErrorOut},
    summary="本单位及下级单位的报表",
    description="查询参数：code（报表代码）、period_start（报告期第一天）。每个版本一条，新版本在前；数据为冻结的快照。",
)
def list_reports(request, code: str = "", period_start: dt.date | None = None):
    _unit(request.user)
    reports = selectors.reports_for(request.user).order_by("code", "-period_start", "unit_id", "-version")
    if code:
        reports = reports.filter(code=code)
    if period_start is not None:
        reports = reports.filter(period_start=period_start)
    return [_out(r) for r in reports[:200]]


@router.get(
    "/reports/{int:report_id}", response={200: ReportOut, 403: ErrorOut, 404: ErrorOut}, summary="报表"
)
def get_report(request, report_id: int):
    _unit(request.user)
    return _out(selectors.report_for_user(request.user, report_id))


@router.post(
    "/reports/{code}/{period}/generate",
    response={202: GenerationOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="生成（或重新生成）本单位该期报表",
    description="period 形如 2026-11、2026-Q4、2026。区级按指标计算；市级汇总各区已上报的快照。报告期未结束、"
    "已上报未更正的即时拒绝；其余由后台任务生成，返回生成请求（状态 queued / done / failed），"
    "用 GET /generations/{id} 查询，完成后 report_id 为生成的报表。同一期正在生成时再次请求，返回同一请求。",
)
def generate(request, code: str, period: str):
    _unit(request.user)
    definition = selectors.definition_current(code)
    if definition is None:
        raise Http404("未找到该记录。")
    try:
        parsed = parse_period(definition.period, period)
    except ValidationError:
        raise Http404("未找到该记录。") from None
    generation = services.generation_request(actor=request.user, code=code, period=parsed)
    return Status(202, _generation_out(generation))


@router.get(
    "/generations/{int:generation_id}",
    response={200: GenerationOut, 403: ErrorOut, 404: ErrorOut},
    summary="报表生成请求",
)
def get_generation(request, generation_id: int):
    _unit(request.user)
    return _generation_out(selectors.generation_for_user(request.user, generation_id))


@router.post(
    "/reports/{int:report_id}/submit",
    response={200: ReportOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="上报",
)
def submit(request, report_id: int, body: ReportNoteIn):
    report = selectors.report_for_user(request.user, report_id)
    return _out(services.report_submit(actor=request.user, report=report, note=body.note))


@router.post(
    "/reports/{int:report_id}/return",
    response={200: ReportOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="退回下级单位的报表",
)
def return_report(request, report_id: int, body: ReportReasonIn):
    report = selectors.report_for_user(request.user, report_id)
    return _out(services.report_return(actor=request.user, report=report, reason=body.reason))


@router.post(
    "/reports/{int:report_id}/correct",
    response={202: GenerationOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="更正已上报的报表（生成新版本）",
    description="新版本由后台任务生成，返回生成请求，同“生成”。",
)
def correct(request, report_id: int, body: ReportReasonIn):
    report = selectors.report_for_user(request.user, report_id)
    generation = services.correction_request(actor=request.user, report=report, reason=body.reason)
    return Status(202, _generation_out(generation))
