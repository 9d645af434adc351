"""The 精康 home page: a worker's worklist, civil affairs' intake worklist, or the statistics."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from kangfu.core import access
from kangfu.rehab import selectors
from kangfu.rehab.models import CaseStatus
from kangfu.rehab.services.common import NOT_REHAB_STAFF


@login_required
@require_GET
def home(request):
    rights = access.policy(request.user)
    if rights.runs_rehab:
        if access.rehab_home(request.user) is None:
            raise PermissionDenied(NOT_REHAB_STAFF)
        context = selectors.worklist(request.user)
        # Each row's number of contacts comes with the row, not from a query per row.
        context["screening"] = context["screening"].annotate(contact_count=Count("contacts"))
        context["home_org"] = access.rehab_home(request.user)
        context["status_labels"] = dict(CaseStatus.choices)
        return render(request, "rehab/home.html", context)
    if rights.rehab_intake:
        return render(request, "rehab/intake_home.html", selectors.intake_worklist(request.user))
    if rights.reads_rehab_stats:
        return redirect("reports:rehab_stats")
    raise PermissionDenied(access.NOT_ALLOWED)
