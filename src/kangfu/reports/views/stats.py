"""The statistics of 精康: figures, charts and tables for a year, and their export."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kangfu.core import access
from kangfu.core.exports import xlsx_response
from kangfu.core.models import Organisation, OrganisationKind
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.models import EmploymentType
from kangfu.rehab.views.common import _pk
from kangfu.rehab.views.institutions import _institution


def _stats_access(request) -> Organisation | None:
    rights = access.policy(request.user)
    # A street or community receives applications (rehab_intake) but is counted into no figure of its
    # own (selectors._stats_scope): it is refused rather than shown a page of zeros.
    if not (rights.reads_rehab_stats or rights.runs_rehab):
        raise PermissionDenied(access.NOT_ALLOWED)
    institution = None
    if request.GET.get("institution"):
        pk = _pk(request.GET["institution"])
        if pk is None:
            raise Http404
        institution = _institution(request, pk)
        if not rights.reads_rehab_stats and institution.pk not in access.rehab_org_ids(request.user):
            raise Http404
    return institution


@login_required
@require_GET
def stats(request):
    institution = _stats_access(request)
    status = 200
    try:
        year = f.stats_year(request.GET.get("year"))
    except ValidationError as exc:
        # The page of the current year, with the reason, rather than an error page; never an export.
        messages.error(request, exc.messages[0])
        year, status = timezone.localdate().year, 400
    figures = selectors.stats(request.user, year=year, institution=institution)
    tables = _stats_tables(figures)
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
        "rehab/stats.html",
        {
            "f": figures,
            "charts": charts,
            "tables": tables,
            "years": f.year_choices(),
            "institution": institution,
            "institutions": selectors.institutions_for(request.user).filter(
                kind=OrganisationKind.REHAB_INSTITUTION
            ),
        },
        status=status,
    )


def _stats_tables(figures: dict) -> list[dict]:
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
