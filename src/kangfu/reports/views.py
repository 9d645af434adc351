from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kangfu.core import access
from kangfu.core.exports import xlsx_response
from kangfu.reports import selectors


@login_required
@require_GET
def overview(request):
    access.require(request.user, "reads_civil_affairs")
    by_region = selectors.people_by_subregion(user=request.user)
    by_category = selectors.certificates_by_category(user=request.user)
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
