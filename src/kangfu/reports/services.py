"""Every write of the reports app: publishing a definition, generating a report (a district's from the
measures, a city's from its districts' submitted snapshots), submitting, returning and correcting it.

Each is one transaction with its audit row; a change of state is a conditional UPDATE
(`core.transitions.advance`), so a double click or two officers at once cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kangfu.core import audit
from kangfu.core.dbrouting import replica_reads
from kangfu.core.models import AuditAction, Region, RegionLevel, User
from kangfu.core.transitions import Conflict, advance
from kangfu.reports import measures, selectors
from kangfu.reports.models import (
    Generation,
    GenerationStatus,
    PeriodKind,
    Report,
    ReportDefinition,
    ReportStatus,
    RowDimension,
)
from kangfu.reports.rules import Period

NOT_A_UNIT = "只有区、市民政部门的管理员可以填报统计报表。"
NO_DEFINITION = "报表定义不存在或已停用。"
WRONG_PERIOD = "报告期与报表的报送周期不符。"
PERIOD_NOT_CLOSED = "报告期尚未结束，不能生成该期报表。"
ALREADY_SUBMITTED = "该期报表已上报；如需更正，请填写更正原因生成新版本。"
NOT_DRAFT = "只有待上报的报表可以上报（可能已由他人上报）。"
NOT_SUBMITTED = "只有已上报的报表可以退回或更正（可能已被退回或已有新版本）。"
NOT_LATEST = "该版本已有更新的版本，请在最新版本上操作。"
REASON_REQUIRED = "请填写原因。"
NOT_ABOVE = "只有上级单位可以退回报表。"
NOTHING_SUBMITTED = "尚无下级单位上报该期报表，不能汇总。"
GENERATED_TWICE = "该期报表正由他人生成，请刷新后查看。"
BAD_DEFINITION = "报表定义不完整：{fields}。"
BAD_DUE_DAY = "报送截止日应为 1–28 日。"


# ------------------------------------------------------------------ definitions


def definition_publish(*, actor: User | None, data: dict[str, Any]) -> ReportDefinition:
    """A new version of the definition `data["code"]` (version 1 if new): validated (every measure
    known and groupable by the rows), then saved beside the older versions, which stay as they were
    for the reports made under them. Used by the migration that ships the definitions, the admin and
    `kangfu reports define`."""
    missing = [f for f in ("code", "name", "period", "rows", "columns") if not data.get(f)]
    if missing:
        raise ValidationError(BAD_DEFINITION.format(fields="、".join(missing)))
    if data["period"] not in PeriodKind.values:
        raise ValidationError(BAD_DEFINITION.format(fields="period"))
    if data["rows"] not in RowDimension.values:
        raise ValidationError(BAD_DEFINITION.format(fields="rows"))
    columns = measures.validate_columns(data["columns"], data["rows"])
    due_day, city_due_day = int(data.get("due_day", 5)), int(data.get("city_due_day", 10))
    if not (1 <= due_day <= 28 and 1 <= city_due_day <= 28):
        raise ValidationError(BAD_DUE_DAY)
    with transaction.atomic():
        last = (
            ReportDefinition.objects.select_for_update()
            .filter(code=data["code"])
            .order_by("-version")
            .first()
        )
        definition = ReportDefinition.objects.create(
            code=data["code"],
            version=(last.version + 1) if last else 1,
            name=data["name"],
            period=data["period"],
            rows=data["rows"],
            columns=columns,
            due_day=due_day,
            city_due_day=city_due_day,
            note=data.get("note", ""),
            is_active=data.get("is_active", True),
            created_by=actor if actor is not None and actor.pk else None,
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=definition,
            summary=f"发布报表定义 {definition.name}（第 {definition.version} 版）",
            changes={"code": definition.code, "columns": [c["measure"] for c in columns]},
        )
    return definition


# ------------------------------------------------------------------ figures as JSON


def _to_json(measure: measures.Measure, value: measures.Value) -> Any:
    if value is None:
        return None
    if measure.kind == "count":
        return int(value)
    if measure.kind == "money":
        return str(Decimal(value).quantize(measures.ZERO))
    return str(value)


def from_json(measure: measures.Measure, value: Any) -> measures.Value:
    if value is None:
        return None
    if measure.kind == "count":
        return int(value)
    if measure.kind == "money":
        return Decimal(value).quantize(measures.ZERO)
    return Decimal(value)


def _row_keys(definition: ReportDefinition, unit: Region) -> list[tuple[str, str]]:
    if definition.rows == RowDimension.REGION:
        return list(
            Region.objects.filter(parent_id=unit.code, successor__isnull=True)
            .order_by("code")
            .values_list("code", "name")
        )
    if definition.rows == RowDimension.UNIT:
        return [(unit.code, unit.name)]
    if definition.rows == RowDimension.SERVICE_TYPE:
        from kangfu.rehab.models import ServiceType

        return list(ServiceType.choices)
    if definition.rows == RowDimension.DISABILITY_GRADE:
        from kangfu.people.models import DisabilityGrade

        return [(str(value), label) for value, label in DisabilityGrade.choices]
    if definition.rows == RowDimension.DISABILITY_CATEGORY:
        from kangfu.people.models import DisabilityCategory

        return [(str(value), label) for value, label in DisabilityCategory.choices]
    if definition.rows == RowDimension.STOP_REASON:
        from kangfu.subsidies.models import StopReason

        # A stop recorded before reasons were (a legacy one) is "其他", as on the indicators page.
        return [*StopReason.choices, ("", "其他")]
    from kangfu.subsidies.models import Kind

    return list(Kind.choices)


def _layout(definition: ReportDefinition, unit: Region, period: Period) -> dict:
    return {
        "definition": {
            "code": definition.code,
            "version": definition.version,
            "name": definition.name,
            "period": definition.period,
            "rows": definition.rows,
            "rows_label": RowDimension(definition.rows).label,
            "columns": [{**c, "kind": measures.get(c["measure"]).kind} for c in definition.columns],
        },
        "unit": {"code": unit.code, "name": unit.name, "level": unit.level},
        "period": {"kind": period.kind, "start": period.start.isoformat(), "label": period.label},
    }


def _freeze(table: measures.Table, codes: list[str]) -> dict:
    def values(row: dict) -> dict:
        return {c: _to_json(measures.get(c), row.get(c)) for c in codes}

    return {
        "measures": codes,
        "rows": [{"key": r["key"], "label": r["label"], "values": values(r["values"])} for r in table.rows],
        "total": values(table.total),
    }


def figures_compute(*, definition: ReportDefinition, unit: Region, period: Period) -> dict:
    """A unit's figures from the measures (a district, or any unit computed directly)."""
    columns = [c["measure"] for c in definition.columns]
    scope = measures.Scope(period=period, unit=unit.code, rows=definition.rows)
    table = measures.compute(scope, columns, _row_keys(definition, unit))
    codes = measures.base_measures(columns) + [c for c in columns if c not in measures.base_measures(columns)]
    return {**_layout(definition, unit, period), **_freeze(table, codes)}


def figures_aggregate(*, definition: ReportDefinition, unit: Region, period: Period) -> dict:
    """A city's figures from the standing submitted snapshots of its districts, never from records:
    for `region`/`unit` rows, a row per district (its total); otherwise each row summed over them.
    Additive measures are added up, rates recomputed from their added parts, targets taken as they are."""
    columns = [c["measure"] for c in definition.columns]
    codes = measures.base_measures(columns)
    districts = selectors.child_units(unit)
    reports = selectors.submitted_snapshots(
        code=definition.code, period=period, units=[d.code for d in districts]
    )
    if not reports:
        raise ValidationError(NOTHING_SUBMITTED)

    def parsed(values: dict) -> dict:
        return {c: from_json(measures.get(c), values.get(c)) for c in codes}

    table = measures.Table()
    by_district = definition.rows in (RowDimension.REGION, RowDimension.UNIT)
    rows_dim = "region" if by_district else definition.rows
    if by_district:
        for district in districts:
            report = reports.get(district.code)
            values = parsed(report.figures.get("total", {})) if report else {c: None for c in codes}
            table.rows.append({"key": district.code, "label": district.name, "values": values})
    else:
        for key, label in _row_keys(definition, unit):
            found = [
                parsed(row["values"])
                for report in reports.values()
                for row in report.figures.get("rows", [])
                if row["key"] == key
            ]
            table.rows.append({"key": key, "label": label, "values": measures.total_of(found, codes)})
    table.total = measures.total_of([r["values"] for r in table.rows], codes)
    measures.finish(table, columns, measures.Scope(period=period, unit=unit.code, rows=rows_dim))
    all_codes = codes + [c for c in columns if c not in codes]
    frozen = {**_layout(definition, unit, period), **_freeze(table, all_codes)}
    frozen["layout_rows"] = rows_dim
    frozen["sources"] = {
        code: {"report": r.pk, "version": r.version, "late": r.is_late} for code, r in reports.items()
    }
    frozen["missing"] = [d.code for d in districts if d.code not in reports]
    return frozen


# ------------------------------------------------------------------ reports


def _unit_of(actor: User) -> Region:
    unit = selectors.reporting_unit(actor)
    if unit is None:
        raise PermissionDenied(NOT_A_UNIT)
    return unit


def _may_generate(
    actor: User, code: str, period: Period, today: dt.date | None
) -> tuple[Region, ReportDefinition]:
    unit = _unit_of(actor)
    definition = selectors.definition_current(code)
    if definition is None:
        raise ValidationError(NO_DEFINITION)
    if period.kind != definition.period:
        raise ValidationError(WRONG_PERIOD)
    if not period.is_closed(today or timezone.localdate()):
        raise ValidationError(PERIOD_NOT_CLOSED)
    return unit, definition


def generation_request(
    *, actor: User, code: str, period: Period, correction_reason: str = "", today: dt.date | None = None
) -> Generation:
    """Ask for the unit's report `code` for `period` to be generated (or corrected, with its reason) by
    a background task. What would refuse it is said now, not by the task; a second request while one
    is queued is the first (a double click makes one report)."""
    from kangfu.reports.tasks import generate_report  # the task module imports this one

    unit, _definition = _may_generate(actor, code, period, today)
    correction_reason = correction_reason.strip()
    latest_status = (
        Report.objects.filter(code=code, unit_id=unit.code, period_start=period.start)
        .order_by("-version")
        .values_list("status", flat=True)
        .first()
    )
    if latest_status == ReportStatus.SUBMITTED and not correction_reason:
        raise ValidationError(ALREADY_SUBMITTED)
    queued = Generation.objects.filter(
        code=code, unit_id=unit.code, period_start=period.start, status=GenerationStatus.QUEUED
    )
    try:
        with transaction.atomic():
            generation = Generation.objects.create(
                code=code,
                unit=unit,
                period_start=period.start,
                correction_reason=correction_reason,
                requested_by=actor,
            )
    except IntegrityError:
        return queued.get()
    transaction.on_commit(partial(generate_report.enqueue, generation.pk))
    return generation


def generation_run(generation_id: int) -> Generation:
    """The task's work: generate the report a queued request asks for, as the one who asked, and
    record the report or the reason it was not made. Run again, it only regenerates the same draft."""
    generation = Generation.objects.select_related("requested_by").get(pk=generation_id)
    if generation.status != GenerationStatus.QUEUED:
        return generation
    still_queued = Generation.objects.filter(pk=generation.pk, status=GenerationStatus.QUEUED)
    definition = selectors.definition_current(generation.code)
    try:
        if definition is None or generation.requested_by is None:
            raise ValidationError(NO_DEFINITION if definition is None else NOT_A_UNIT)
        report = report_generate(
            actor=generation.requested_by,
            code=generation.code,
            period=Period(definition.period, generation.period_start),
            correction_reason=generation.correction_reason,
        )
    except (ValidationError, PermissionDenied) as exc:
        message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        still_queued.update(status=GenerationStatus.FAILED, error=message[:500], finished_at=timezone.now())
    else:
        still_queued.update(status=GenerationStatus.DONE, report=report, finished_at=timezone.now())
    generation.refresh_from_db()
    return generation


def report_generate(
    *,
    actor: User,
    code: str,
    period: Period,
    correction_reason: str = "",
    today: dt.date | None = None,
) -> Report:
    """Generate (or regenerate) the actor's unit's report `code` for `period`: a district's from the
    measures, a city's from its districts' submitted snapshots.

    A draft is regenerated in place; after a return, the next version is a new draft; after a
    submission, only a correction (with its reason) makes a new version, and the submitted one stays
    readable as it was. Refused for a period that has not ended."""
    unit, definition = _may_generate(actor, code, period, today)
    correction_reason = correction_reason.strip()
    if unit.level == RegionLevel.CITY:
        # From the districts' snapshots, on the primary: a district that submitted a moment ago
        # must be in the city's report, which a lagging replica could leave out.
        figures = figures_aggregate(definition=definition, unit=unit, period=period)
    else:
        # The measures read a closed period of the services' records: the replica's work, when
        # there is one, not the primary's.
        with replica_reads():
            figures = figures_compute(definition=definition, unit=unit, period=period)
    due_day = definition.city_due_day if unit.level == RegionLevel.CITY else definition.due_day
    now = timezone.now()
    try:
        with transaction.atomic():
            latest = (
                Report.objects.filter(code=code, unit_id=unit.code, period_start=period.start)
                .order_by("-version")
                .first()
            )
            if latest is not None and latest.status == ReportStatus.DRAFT:
                advance(
                    Report.objects.filter(pk=latest.pk),
                    expected=ReportStatus.DRAFT,
                    message=NOT_DRAFT,
                    definition=definition,
                    figures=figures,
                    generated_by=actor,
                    generated_at=now,
                    **({"correction_reason": correction_reason} if correction_reason else {}),
                )
                latest.refresh_from_db()
                report, action = latest, AuditAction.UPDATE
            else:
                if latest is not None and latest.status == ReportStatus.SUBMITTED and not correction_reason:
                    raise ValidationError(ALREADY_SUBMITTED)
                report = Report.objects.create(
                    definition=definition,
                    code=code,
                    unit=unit,
                    period_start=period.start,
                    version=(latest.version + 1) if latest else 1,
                    figures=figures,
                    due_on=period.due_on(due_day),
                    generated_by=actor,
                    generated_at=now,
                    correction_reason=correction_reason
                    if latest is not None and latest.status == ReportStatus.SUBMITTED
                    else "",
                    note=latest.note if latest is not None else "",
                )
                action = AuditAction.CREATE
            audit.record(
                actor=actor,
                action=action,
                obj=report,
                summary=f"生成{definition.name}（{unit.name}，{period.label}，第 {report.version} 版）",
                changes={
                    "period": period.slug,
                    "version": report.version,
                    "reason": report.correction_reason,
                },
            )
    except IntegrityError:
        raise Conflict(GENERATED_TWICE) from None
    return report


def _may_correct(actor: User, report: Report, reason: str) -> Period:
    if not reason.strip():
        raise ValidationError(REASON_REQUIRED)
    _check_latest(report, expected=ReportStatus.SUBMITTED)
    if _unit_of(actor).code != report.unit_id:
        raise PermissionDenied(NOT_A_UNIT)
    return Period(report.definition.period, report.period_start)


def report_correct(*, actor: User, report: Report, reason: str, today: dt.date | None = None) -> Report:
    """A correction of a submitted report: the next version, a draft with its reason, to review and
    submit again. The submitted version stays, readable, and stays the one counted until then."""
    period = _may_correct(actor, report, reason)
    return report_generate(
        actor=actor, code=report.code, period=period, correction_reason=reason, today=today
    )


def correction_request(*, actor: User, report: Report, reason: str) -> Generation:
    """`report_correct`, by the background task (`generation_request`)."""
    period = _may_correct(actor, report, reason)
    return generation_request(actor=actor, code=report.code, period=period, correction_reason=reason)


def _check_latest(report: Report, *, expected: str) -> None:
    newest = (
        Report.objects.filter(code=report.code, unit_id=report.unit_id, period_start=report.period_start)
        .order_by("-version")
        .values_list("pk", flat=True)
        .first()
    )
    if newest != report.pk:
        raise Conflict(NOT_LATEST)
    if report.status != expected:
        raise Conflict(NOT_SUBMITTED if expected == ReportStatus.SUBMITTED else NOT_DRAFT)


def report_submit(*, actor: User, report: Report, note: str = "") -> Report:
    """Submit a draft to the level above: its figures are frozen from now on."""
    if _unit_of(actor).code != report.unit_id:
        raise PermissionDenied(NOT_A_UNIT)
    now = timezone.now()
    with transaction.atomic():
        advance(
            Report.objects.filter(pk=report.pk),
            expected=ReportStatus.DRAFT,
            message=NOT_DRAFT,
            status=ReportStatus.SUBMITTED,
            submitted_by=actor,
            submitted_at=now,
            note=note.strip()[:500],
        )
        report.refresh_from_db()
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=report,
            summary=f"上报{report.definition.name}（{report.unit.name}，第 {report.version} 版"
            f"{'，逾期' if report.is_late else ''}）",
            changes={"status": [ReportStatus.DRAFT, ReportStatus.SUBMITTED], "late": report.is_late},
        )
    return report


def report_return(*, actor: User, report: Report, reason: str) -> Report:
    """The level above sends a submitted report back with its reason; the unit then generates and
    submits a new version. Only the standing (newest) version can be returned."""
    unit = _unit_of(actor)
    if report.unit.parent_id != unit.code:
        raise PermissionDenied(NOT_ABOVE)
    if not reason.strip():
        raise ValidationError(REASON_REQUIRED)
    _check_latest(report, expected=ReportStatus.SUBMITTED)
    with transaction.atomic():
        advance(
            Report.objects.filter(pk=report.pk),
            expected=ReportStatus.SUBMITTED,
            message=NOT_SUBMITTED,
            status=ReportStatus.RETURNED,
            returned_by=actor,
            returned_at=timezone.now(),
            return_reason=reason.strip()[:300],
        )
        report.refresh_from_db()
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=report,
            summary=f"退回{report.definition.name}（{report.unit.name}，第 {report.version} 版）",
            changes={
                "status": [ReportStatus.SUBMITTED, ReportStatus.RETURNED],
                "reason": report.return_reason,
            },
        )
    return report
