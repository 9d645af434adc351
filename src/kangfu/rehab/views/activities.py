"""Services delivered: the list, recording a session with who attended, its page and photos."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from kangfu.core import audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.models import AuditAction
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.models import CaseStatus, ServiceType
from kangfu.rehab.services import activities as activity_services
from kangfu.rehab.services.common import require_home
from kangfu.rehab.views.common import _sites


def _audit_read(request, obj, person_ids, summary: str) -> None:
    """One read entry per person shown, so that each person's trail lists who saw them."""
    audit.record_many(
        actor=request.user,
        action=AuditAction.VIEW,
        rows=[(obj, person_id) for person_id in sorted(set(person_ids))],
        summary=summary,
    )


def _served_cases(request):
    return (
        selectors.cases_for(request.user)
        .filter(status__in=[CaseStatus.ENROLLED, CaseStatus.ACTIVE])
        .select_related("person")
        .order_by("person__name")
    )


@login_required
@require_GET
def activities(request):
    require_home(request.user)
    rows = selectors.activities_for(request.user).select_related("leader", "site")
    kind = request.GET.get("service_type") or ""
    if kind:
        rows = rows.filter(service_type=kind)
    return render(
        request, "rehab/activities.html", {"rows": rows[:200], "kind": kind, "types": ServiceType.choices}
    )


@login_required
def activity_new(request):
    require_home(request.user)
    cases_qs = _served_cases(request)
    form = f.ActivityRecordForm(request.POST or None, cases=cases_qs, sites=_sites(request))
    family = f.FamilyFormSet(request.POST or None, prefix="family", form_kwargs={"cases": cases_qs})
    status = 200
    if request.method == "POST":
        if form.is_valid() and family.is_valid():
            d = form.cleaned_data
            try:
                activity = activity_services.activity_record(
                    actor=request.user,
                    data=activity_services.ActivityData(
                        form=d["form"],
                        service_type=d["service_type"],
                        mode=d["mode"],
                        title=d["title"],
                        held_on=d["held_on"],
                        place=d["place"],
                        content=d["content"],
                        site=d["site"],
                        patients=[c.pk for c in d["patients"]],
                        family=[
                            {
                                "case": g.cleaned_data["case"].pk,
                                "name": g.cleaned_data["name"],
                                "relation": g.cleaned_data["relation"],
                            }
                            for g in family
                            if g.cleaned_data.get("case")
                        ],
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"已登记“{activity.title}”：患者 {activity.patients} 人次，家属 {activity.family} 人次。",
                )
                return redirect("rehab:activity", pk=activity.pk)
        else:
            for fs_form in family:
                for message in fs_form.non_field_errors():
                    form.add_error(None, message)
        status = 400
    return render(request, "rehab/activity_form.html", {"form": form, "family": family}, status=status)


@login_required
def activity_detail(request, pk: int):
    require_home(request.user)
    activity = get_object_or_404(
        selectors.activities_for(request.user).select_related("leader", "site"), pk=pk
    )
    photo_form = f.PhotoForm()
    if request.method == "POST":
        photo_form = f.PhotoForm(request.POST, request.FILES)
        if photo_form.is_valid():
            activity_services.activity_photo_add(
                actor=request.user,
                activity=activity,
                image=photo_form.cleaned_data["image"],
                caption=photo_form.cleaned_data["caption"],
            )
            messages.success(request, "已上传照片。")
            return redirect("rehab:activity", pk=activity.pk)
    attendances = list(activity.attendances.select_related("case__person").order_by("is_family", "id"))
    _audit_read(request, activity, [a.case.person_id for a in attendances], f"查看服务活动“{activity.title}”")
    return render(
        request,
        "rehab/activity.html",
        {
            "a": activity,
            "attendances": attendances,
            "photo_form": photo_form,
            "photos": activity.photos.all(),
        },
        status=400 if photo_form.errors else 200,
    )


@login_required
@require_GET
def activity_photo(request, pk: int):
    require_home(request.user)
    photo = get_object_or_404(selectors.photos_for(request.user).select_related("activity"), pk=pk)
    # A photo shows the people who attended: each of them has it on their trail.
    _audit_read(
        request,
        photo,
        photo.activity.attendances.values_list("case__person_id", flat=True),
        f"查看服务活动照片“{photo.activity.title}”",
    )
    return FileResponse(photo.image.open("rb"))
