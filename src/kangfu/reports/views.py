from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from kangfu.core import access
from kangfu.reports import selectors


@login_required
@require_GET
def overview(request):
    access.require(request.user, "reads_civil_affairs")
    by_region = selectors.people_by_subregion(user=request.user)
    by_category = selectors.certificates_by_category(user=request.user)
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
