"""The 卫健 and 残联 rosters: upload and preview, then confirm or discard."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from kangfu.core import access
from kangfu.core.forms import apply_service_errors
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.services import rosters


@login_required
def roster_upload(request):
    access.require(request.user, "rehab_intake")
    form = f.RosterForm(request.POST or None, request.FILES or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                roster = rosters.roster_preview(
                    actor=request.user,
                    district=form.cleaned_data["district"],
                    source=form.cleaned_data["source"],
                    file_name=upload.name,
                    raw=upload.read(),
                    received_on=form.cleaned_data["received_on"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("rehab:roster", pk=roster.pk)
        status = 400
    recent = selectors.rosters_for(request.user).defer("content")[:20]
    return render(request, "rehab/rosters.html", {"form": form, "recent": recent}, status=status)


@login_required
def roster_detail(request, pk: int):
    access.require(request.user, "rehab_intake")
    roster = get_object_or_404(selectors.rosters_for(request.user).defer("content"), pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "confirm":
                # With its content, which the page left out.
                roster = rosters.roster_confirm(
                    actor=request.user, roster=selectors.rosters_for(request.user).get(pk=roster.pk)
                )
                r = roster.result
                messages.success(
                    request,
                    f"已导入：新登记 {r['created']} 人，已在册 {r['linked']} 人，跳过 {r['skipped']} 行，有误 {r['errors']} 行未导入。",
                )
            else:
                rosters.roster_discard(actor=request.user, roster=roster)
                messages.success(request, "已放弃导入。")
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        return redirect("rehab:roster", pk=roster.pk)
    return render(request, "rehab/roster.html", {"r": roster})
