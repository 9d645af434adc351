"""The register of institutions: the list, an institution's profile, staff and training."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kangfu.core import access
from kangfu.core.forms import apply_service_errors
from kangfu.core.models import Organisation
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.models import PEER_TRAINING_HOURS_REQUIRED, ServiceType
from kangfu.rehab.selectors import hours_required
from kangfu.rehab.services import approvals as approval_services
from kangfu.rehab.services import institutions as institution_services


@login_required
@require_GET
def institutions(request):
    rights = access.policy(request.user)
    if not (rights.runs_rehab or rights.rehab_intake or rights.reads_rehab_stats):
        raise PermissionDenied(access.NOT_ALLOWED)
    year = timezone.localdate().year
    orgs = list(
        selectors.institutions_for(request.user).select_related("rehab_profile").order_by("region_id", "name")
    )
    staff = list(
        selectors.staff_of(orgs)
        .filter(left_on__isnull=True)
        .values_list("pk", "organisation_id", "direct_service", "profession")
    )
    hours = selectors.training_hours([s[0] for s in staff], year)
    per_org: dict[int, dict] = {}
    for pk, org_id, direct, profession in staff:
        row = per_org.setdefault(org_id, {"staff": 0, "short": 0})
        row["staff"] += 1
        # A peer supporter is short of their own requirement, not the professionals'.
        if direct and hours.get(pk, Decimal(0)) < hours_required(profession):
            row["short"] += 1
    rows = [(o, per_org.get(o.pk, {"staff": 0, "short": 0})) for o in orgs]
    return render(request, "rehab/institutions.html", {"rows": rows, "year": year})


def _institution(request, pk: int) -> Organisation:
    org = get_object_or_404(selectors.institutions_for(request.user), pk=pk)
    return org


@login_required
def institution_detail(request, pk: int):
    org = _institution(request, pk)
    year = timezone.localdate().year
    profile = getattr(org, "rehab_profile", None) if hasattr(org, "rehab_profile") else None
    may_edit = org.pk in access.rehab_org_ids(request.user) or access.policy(request.user).rehab_intake
    profile_form = f.ProfileForm(
        initial={
            "level": profile.level,
            "services": profile.services,
            "capacity": profile.capacity,
            "opened_on": profile.opened_on,
            "note": profile.note,
        }
        if profile
        else {"capacity": 0}
    )
    staff_form = f.StaffForm()
    staff_qs = selectors.staff_of([org])
    # 审核人 are named by civil affairs of the district, not by the institution's own workers.
    names_approvers = approval_services.may_name_approvers(request.user, org)
    approvers = approval_services.approvers_of(org.pk)
    approvers_form = (
        f.ApproversForm(eligible=approval_services.eligible_approvers(org), initial={"approvers": approvers})
        if names_approvers and profile
        else None
    )
    status = 200
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(access.NOT_ALLOWED)
        action = request.POST.get("action")
        if action == "approvers":
            if approvers_form is None:
                raise PermissionDenied(approval_services.NAMES_APPROVERS)
            approvers_form = f.ApproversForm(request.POST, eligible=approval_services.eligible_approvers(org))
            if approvers_form.is_valid():
                try:
                    approval_services.approvers_set(
                        actor=request.user,
                        institution=org,
                        users=list(approvers_form.cleaned_data["approvers"]),
                    )
                except ValidationError as exc:
                    apply_service_errors(approvers_form, exc)
                else:
                    messages.success(request, "已更新审核人。")
                    return redirect("rehab:institution", pk=org.pk)
        elif action == "profile":
            profile_form = f.ProfileForm(request.POST)
            if profile_form.is_valid():
                institution_services.institution_profile_save(
                    actor=request.user, organisation=org, values=profile_form.cleaned_data
                )
                messages.success(request, "已保存机构登记信息。")
                return redirect("rehab:institution", pk=org.pk)
        elif action == "staff":
            staff_form = f.StaffForm(request.POST)
            if staff_form.is_valid():
                institution_services.staff_save(
                    actor=request.user, organisation=org, values=staff_form.cleaned_data
                )
                messages.success(request, "已添加专业人员。")
                return redirect("rehab:institution", pk=org.pk)
        elif action == "training":
            form = f.TrainingForm(request.POST, staff=staff_qs)
            if form.is_valid():
                d = form.cleaned_data
                staff = d["staff"]
                try:
                    institution_services.training_add(
                        actor=request.user,
                        staff=staff,
                        held_on=d["held_on"],
                        hours=d["hours"],
                        topic=d["topic"],
                        provider=d["provider"],
                    )
                except ValidationError as exc:
                    for message in exc.messages:
                        messages.error(request, message)
                else:
                    messages.success(request, f"已登记 {staff.name} 的培训。")
                    return redirect("rehab:institution", pk=org.pk)
            else:
                for errors in form.errors.values():
                    for message in errors:
                        messages.error(request, message)
        status = 400
    staff = list(staff_qs.select_related("own_case__person").order_by("left_on", "name"))
    hours = selectors.training_hours([s.pk for s in staff], year)
    # A training form per row, with its own ids, naming its staff member.
    rows = [
        (
            s,
            hours.get(s.pk, Decimal(0)),
            f.TrainingForm(staff=staff_qs, initial={"staff": s.pk}, auto_id=f"id_training{s.pk}_%s"),
        )
        for s in staff
        if not s.is_peer
    ]
    # Peer supporters apart, against their own requirement; their own case is named only to the
    # workers of the institution that serves it, who see that case anyway.
    serves = set(access.rehab_org_ids(request.user)) if access.policy(request.user).reads_clinical else set()
    peers = [
        (
            s,
            hours.get(s.pk, Decimal(0)),
            f.TrainingForm(staff=staff_qs, initial={"staff": s.pk}, auto_id=f"id_training{s.pk}_%s"),
            s.own_case if s.own_case is not None and s.own_case.institution_id in serves else None,
        )
        for s in staff
        if s.is_peer
    ]
    return render(
        request,
        "rehab/institution.html",
        {
            "org": org,
            "profile": profile,
            "rows": rows,
            "peers": peers,
            "year": year,
            "required": selectors.TRAINING_HOURS_REQUIRED,
            "peer_required": PEER_TRAINING_HOURS_REQUIRED,
            "may_link": may_edit and org.pk in access.rehab_org_ids(request.user),
            "profile_form": profile_form,
            "staff_form": staff_form,
            "approvers": approvers,
            "approvers_form": approvers_form,
            "may_edit": may_edit,
            "service_labels": dict(ServiceType.choices),
        },
        status=status,
    )
