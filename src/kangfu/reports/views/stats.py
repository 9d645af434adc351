"""The services' statistics pages, which 统计 owns: 精康's year (figures, charts, tables and their
export), 辅具租赁's year and 两项补贴's indicators of the last twelve months. Each figure is computed once, by the service's own selector over its
counters and grouped queries; the same selectors feed the API, and the measures of 上报 are held equal
to them (tests/test_one_number.py).

The pages were /rehab/stats/, /devices/stats/ and /subsidies/indicators/; those addresses answer
with a permanent redirect here (the services' urls.py), keeping the query string.

They read inside `replica_reads` (core.dbrouting): with a streaming replica configured, a year's
figures are read there, off the primary that the services write to."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kangfu.core import access
from kangfu.core.dbrouting import replica_reads
from kangfu.core.exports import xlsx_response
from kangfu.core.models import Organisation, OrganisationKind
from kangfu.devices import selectors as device_selectors
from kangfu.rehab import forms as rehab_forms
from kangfu.rehab import selectors as rehab_selectors
from kangfu.rehab.models import EmploymentType
from kangfu.reports.counted import counted, counting

MAX_PK = 2**31 - 1  # PostgreSQL's integer column


def _pk(value: str | None) -> int | None:
    """A row number from the query string, None for anything else (letters, '²', or a number beyond
    the column, which the database would answer with an error rather than with nothing)."""
    if value and value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PK:
        return int(value)
    return None


# ------------------------------------------------------------------ 精康


def _rehab_access(request) -> Organisation | None:
    rights = access.policy(request.user)
    # A street or community receives applications (rehab_intake) but is counted into no figure of its
    # own (rehab.selectors._stats_scope): it is refused rather than shown a page of zeros.
    if not (rights.reads_rehab_stats or rights.runs_rehab):
        raise PermissionDenied(access.NOT_ALLOWED)
    institution = None
    if request.GET.get("institution"):
        pk = _pk(request.GET["institution"])
        if pk is None:
            raise Http404
        institution = get_object_or_404(rehab_selectors.institutions_for(request.user), pk=pk)
        if not rights.reads_rehab_stats and institution.pk not in access.rehab_org_ids(request.user):
            raise Http404
    return institution


@login_required
@require_GET
@replica_reads
def rehab_stats(request):
    institution = _rehab_access(request)
    status = 200
    try:
        year = rehab_forms.stats_year(request.GET.get("year"))
    except ValidationError as exc:
        # The page of the current year, with the reason, rather than an error page; never an export.
        messages.error(request, exc.messages[0])
        year, status = timezone.localdate().year, 400
    figures = rehab_selectors.stats(request.user, year=year, institution=institution)
    tables = _rehab_tables(figures)
    if request.GET.get("export") == "xlsx" and status == 200:
        return xlsx_response(
            actor=request.user,
            filename=f"rehab-{year}.xlsx",
            sheets=[(t["title"], t["header"], t["rows"]) for t in tables],
            object_type="rehab.statistics",
            summary=f"导出 {year} 年精康统计",
        )
    labels = [f"{m}月" for m in range(1, 13)]
    charts = {
        "flow": {
            "labels": labels,
            "series": [
                {"name": "转介", "values": figures["flow"]["referred"]},
                {"name": "筛查", "values": figures["flow"]["screened"]},
                {"name": "建档", "values": figures["flow"]["enrolled"]},
                {"name": "结案", "values": figures["flow"]["discharged"]},
            ],
        },
        "times": {
            "labels": labels,
            "series": [
                {"name": "活动（次）", "values": figures["activities"]},
                {"name": "患者（人次）", "values": figures["patient_times"]},
                {"name": "家属（人次）", "values": figures["family_times"]},
            ],
        },
        "by_type": {
            "labels": [r["label"] for r in figures["by_type"]],
            "values": [r["patient_times"] for r in figures["by_type"]],
        },
        "follow_ups": {
            "labels": labels,
            "series": [
                {"name": "完成随访", "values": figures["follow_ups_done"]},
                {"name": "其中逾期完成", "values": figures["follow_ups_late"]},
            ],
        },
        "outcomes": {
            "labels": [o["name"] for o in figures["outcomes"]],
            "values": [o["improved"] for o in figures["outcomes"]],
        },
    }
    return render(
        request,
        "reports/rehab_stats.html",
        {
            "f": figures,
            "charts": charts,
            "tables": tables,
            "years": rehab_forms.year_choices(),
            "institution": institution,
            "institutions": rehab_selectors.institutions_for(request.user).filter(
                kind=OrganisationKind.REHAB_INSTITUTION
            ),
        },
        status=status,
    )


def _rehab_tables(figures: dict) -> list[dict]:
    months = [f"{m}月" for m in range(1, 13)]
    flow = figures["flow"]
    tables = [
        {
            "title": "服务对象流转",
            "header": ["月份", "转介", "筛查", "建档", "结案"],
            "rows": [
                [
                    months[i],
                    flow["referred"][i],
                    flow["screened"][i],
                    flow["enrolled"][i],
                    flow["discharged"][i],
                ]
                for i in range(12)
            ],
        },
        {
            "title": "当前状态",
            "header": ["状态", "人数"],
            "rows": [[k, v] for k, v in figures["status_counts"].items()],
        },
        {
            "title": "结案原因",
            "header": ["原因", "人数"],
            "rows": [[r["label"], r["n"]] for r in figures["discharged"]],
        },
        {
            "title": "按服务类型",
            "header": ["服务类型", "活动（次）", "患者（人次）", "家属（人次）"],
            "rows": [
                [r["label"], r["activities"], r["patient_times"], r["family_times"]]
                for r in figures["by_type"]
            ],
        },
        {
            "title": "按月服务量",
            "header": ["月份", "活动（次）", "患者（人次）", "家属（人次）", "完成随访", "逾期完成随访"],
            "rows": [
                [
                    months[i],
                    figures["activities"][i],
                    figures["patient_times"][i],
                    figures["family_times"][i],
                    figures["follow_ups_done"][i],
                    figures["follow_ups_late"][i],
                ]
                for i in range(12)
            ],
        },
        {
            "title": "随访和转介",
            "header": ["项目", "数量"],
            "rows": [
                ["随访已逾期（人）", figures["follow"]["overdue"]],
                ["7 日内应随访（人）", figures["follow"]["due"]],
                ["转介待接收", figures["transfers"]["sent"]],
                ["转介超时未接收", figures["transfers"]["overdue"]],
                ["转介已接收", figures["transfers"]["accepted"]],
                ["转介已拒绝", figures["transfers"]["declined"]],
                ["转介已完成", figures["transfers"]["completed"]],
            ],
        },
        {
            "title": "就业安置",
            "header": ["就业类型", "在岗人数"],
            "rows": [[label, figures["placements"].get(value, 0)] for value, label in EmploymentType.choices],
        },
        {
            "title": "康复效果",
            "header": ["量表", "改善", "无变化", "变差"],
            "rows": [[o["name"], o["improved"], o["unchanged"], o["worse"]] for o in figures["outcomes"]],
        },
    ]
    if figures["registered"] is not None:
        tables.append(
            {
                "title": "规范服务覆盖率",
                "header": ["在册患者（名单）", "其中近 90 天接受服务", "覆盖率（%）", "年度目标（%）"],
                "rows": [
                    [
                        figures["registered"],
                        figures["follow"]["covered"],
                        "—" if figures["coverage"] is None else figures["coverage"],
                        figures["target"] or "",
                    ]
                ],
            }
        )
    return tables


# ------------------------------------------------------------------ 辅具租赁


@login_required
@require_GET
@replica_reads
def devices_stats(request):
    access.require(request.user, "reads_device_stats")
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    figures = device_selectors.statistics(request.user, year=year)
    if request.GET.get("export") == "xlsx":
        return _devices_xlsx(request, figures)
    charts = {
        "by_month": {"labels": [f"{m}月" for m in range(1, 13)], "values": figures["by_month"]},
        "by_category": {
            "labels": [r["name"] for r in figures["by_category"][:15]],
            "values": [r["n"] for r in figures["by_category"][:15]],
        },
        "by_disability": [{"name": k, "value": v} for k, v in figures["by_disability"].items()],
    }
    return render(
        request,
        "reports/devices_stats.html",
        {"f": figures, "charts": charts, "years": range(year - 3, year + 2)},
    )


def _devices_xlsx(request, figures: dict) -> HttpResponse:
    rows = [
        ["年度", figures["year"]],
        ["租赁笔数", figures["rentals"]],
        ["服务人数", figures["people"]],
        ["租金收入（元）", str(figures["rent_income"])],
        ["补贴支出（元）", str(figures["subsidy"])],
        ["优惠支出（元）", str(figures["discount"])],
        ["设备利用率（%）", str(figures["utilisation"])],
        ["当前逾期", figures["overdue"]],
        ["消毒合格次数", figures["disinfections"]],
        [],
    ]
    rows += (
        [["月份", "租赁笔数"]] + [[f"{m}月", n] for m, n in enumerate(figures["by_month"], start=1)] + [[]]
    )
    rows += (
        [["分类代码", "分类", "租赁笔数"]]
        + [[r["code"], r["name"], r["n"]] for r in figures["by_category"]]
        + [[]]
    )
    rows += [["网点", "租赁笔数"]] + [[r["name"], r["n"]] for r in figures["by_outlet"]] + [[]]
    rows += [["残疾类别", "人数"]] + [[k, v] for k, v in figures["by_disability"].items()] + [[]]
    rows += [["年龄段", "人数"]] + [[k, v] for k, v in figures["by_age"].items()]
    return xlsx_response(
        actor=request.user,
        filename=f"devices-{figures['year']}.xlsx",
        sheets=[("辅具租赁统计", ["辅具租赁统计"], rows)],
        object_type="devices.statistics",
        summary=f"导出 {figures['year']} 年辅具租赁统计",
        changes={"year": figures["year"]},
    )


# ------------------------------------------------------------------ 两项补贴


@login_required
@require_GET
@replica_reads
def subsidies_indicators(request):
    access.require(request.user, "reads_civil_affairs")
    figures = counted(request.user, "subsidy-indicators")
    if figures is None:
        return counting(request, "两项补贴指标")
    if request.GET.get("export") == "xlsx":
        rows = [
            [
                f"{r['month']:%Y-%m}",
                r["living"],
                r["care"],
                r["approved"],
                r["stopped"],
                str(r["paid"]),
                str(r["arrears"]),
                str(r["recovered"]),
            ]
            for r in figures["rows"]
        ]
        return xlsx_response(
            actor=request.user,
            filename="subsidies-indicators.xlsx",
            sheets=[
                (
                    "两项补贴指标",
                    [
                        "月份",
                        "生活补贴人数",
                        "护理补贴人数",
                        "新批准",
                        "停发",
                        "发放金额",
                        "其中补发",
                        "追回",
                    ],
                    rows,
                )
            ],
            object_type="subsidies.indicators",
            summary="导出两项补贴指标",
        )
    charts = {
        "recipients": {
            "labels": [f"{r['month']:%Y-%m}" for r in figures["rows"]],
            "series": [
                {"name": "生活补贴", "values": [r["living"] for r in figures["rows"]]},
                {"name": "护理补贴", "values": [r["care"] for r in figures["rows"]]},
            ],
        },
        "paid": {
            "labels": [f"{r['month']:%Y-%m}" for r in figures["rows"]],
            "values": [float(r["paid"]) for r in figures["rows"]],
        },
    }
    return render(request, "reports/subsidies_indicators.html", {"f": figures, "charts": charts})
