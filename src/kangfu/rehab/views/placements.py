"""Vocational placements of a case."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from kangfu.core.forms import apply_service_errors
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.services import placements
from kangfu.rehab.views.common import _own


@login_required
def case_placement(request, pk: int, placement: int | None = None):
    case = _own(request, pk)
    instance = selectors.placement_of(case, placement) if placement else None
    form = f.PlacementForm(request.POST or None, instance=instance)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                placements.placement_save(
                    actor=request.user,
                    case=case,
                    placement=instance,
                    data=placements.PlacementData(
                        **{k: form.cleaned_data[k] for k in f.PlacementForm.Meta.fields}
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存就业安置。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request, "rehab/case_form.html", {"form": form, "case": case, "title": "就业安置"}, status=status
    )
