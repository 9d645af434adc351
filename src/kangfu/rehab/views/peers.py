"""A peer supporter's own case: linked or unlinked by the institution that employs them."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from kangfu.rehab import selectors
from kangfu.rehab.services import staff_training
from kangfu.rehab.services.common import require_home
from kangfu.rehab.views.common import _pk


@login_required
@require_POST
def peer_own_case(request, pk: int):
    require_home(request.user)
    staff = get_object_or_404(selectors.staff_for(request.user), pk=pk)
    raw = request.POST.get("case", "").strip()
    case = None
    if raw:
        number = _pk(raw)
        try:
            case = selectors.own_case(request.user, number) if number else None
        except Http404:
            case = None
        if case is None:
            messages.error(request, staff_training.CASE_NOT_HERE)
            return redirect("rehab:institution", pk=staff.organisation_id)
    try:
        staff_training.peer_case_link(actor=request.user, staff=staff, case=case)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"已{'关联' if case else '取消关联'}{staff.name}的本人康复档案。")
    return redirect("rehab:institution", pk=staff.organisation_id)
