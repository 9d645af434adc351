"""Pages of the standards (amounts) and the indicators."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kangfu.core import access
from kangfu.core.forms import MonthField, apply_service_errors
from kangfu.subsidies import selectors
from kangfu.subsidies.forms import (
    StandardForm,
)
from kangfu.subsidies.services import standards as standard_services
from kangfu.subsidies.views.common import reads


@login_required
def standard_list(request):
    reads(request)
    rights = access.policy(request.user)
    form = StandardForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not rights.sets_standards:
            raise PermissionDenied(access.NOT_ALLOWED)
        if form.is_valid():
            d = form.cleaned_data
            try:
                standard_services.standard_save(
                    actor=request.user,
                    standard=None,
                    region=request.user.jurisdiction,
                    kind=d["kind"],
                    grade_min=d["grade_min"],
                    grade_max=d["grade_max"],
                    amount=d["amount"],
                    valid_from=d["valid_from"],
                    valid_to=d["valid_to"],
                    note=d["note"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存标准；受影响的月份将在下次发放时补发或追回差额。")
                return redirect("subsidies:standards")
        status = 400
    return render(
        request,
        "subsidies/standards.html",
        {"rows": selectors.current_standards(), "form": form, "may_edit": rights.sets_standards},
        status=status,
    )


@login_required
@require_POST
def standard_close(request, pk: int):
    """End an open standard at a month, so a new amount can start the month after."""
    access.require(request.user, "sets_standards")
    standard = selectors.standard_get(pk)
    try:
        last = MonthField().clean(request.POST.get("valid_to", ""))
        standard_services.standard_save(
            actor=request.user,
            standard=standard,
            region=standard.region,
            kind=standard.kind,
            grade_min=standard.grade_min,
            grade_max=standard.grade_max,
            amount=standard.amount,
            valid_from=standard.valid_from,
            valid_to=last,
            note=standard.note,
        )
    except (ValueError, ValidationError) as exc:
        messages.error(request, "；".join(getattr(exc, "messages", ["请填写截止月份。"])))
    else:
        messages.success(request, "已设定截止月份。")
    return redirect("subsidies:standards")
