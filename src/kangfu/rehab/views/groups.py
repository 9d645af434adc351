"""Recurring groups: the list, a new group, a group's page with its meetings and members' attendance
rates, and taking or cancelling a meeting. Workers of the institution manage their groups; civil
affairs reads those of its jurisdiction without the members' names."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import access, audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.models import AuditAction
from kangfu.rehab import forms_groups as f
from kangfu.rehab import selectors, selectors_groups
from kangfu.rehab.models import CaseStatus, MeetingState
from kangfu.rehab.services import groups as group_services
from kangfu.rehab.services.common import require_home


def _reads(request) -> None:
    rights = access.policy(request.user)
    if not (rights.runs_rehab or rights.reads_rehab_stats):
        raise PermissionDenied(access.NOT_ALLOWED)


def _served_cases(request):
    return (
        selectors.cases_for(request.user)
        .filter(status__in=[CaseStatus.ENROLLED, CaseStatus.ACTIVE])
        .select_related("person")
        .order_by("person__name")
    )


def _managed(request, group) -> None:
    if not selectors_groups.manages(request.user, group):
        raise PermissionDenied(group_services.NOT_YOUR_GROUP)


def _act(request, form, act) -> None:
    """Run `act(cleaned_data)` for a valid form and say how it went: the message it returns, or every
    refusal (the form's or the service's) as an error."""
    if form.is_valid():
        try:
            done = act(form.cleaned_data)
        except ValidationError as exc:
            refusals = exc.messages
        else:
            messages.success(request, done)
            return
    else:
        refusals = [m for errors in form.errors.values() for m in errors]
    for message in refusals:
        messages.error(request, message)


@login_required
@require_GET
def groups(request):
    _reads(request)
    return render(
        request,
        "rehab/groups.html",
        {
            "rows": selectors_groups.group_list(request.user),
            "may_create": access.rehab_home(request.user) is not None,
        },
    )


@login_required
def group_new(request):
    require_home(request.user)
    form = f.GroupForm(
        request.POST or None, cases=_served_cases(request), staff=selectors_groups.staff_here(request.user)
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                group = group_services.group_create(
                    actor=request.user,
                    data=group_services.GroupData(
                        title=d["title"],
                        form=d["form"],
                        service_type=d["service_type"],
                        weekdays=d["weekdays"],
                        starts_at=d["starts_at"],
                        start_on=d["start_on"],
                        end_on=d["end_on"],
                        place=d["place"],
                        leader=d["leader"],
                        members=[c.pk for c in d["members"]],
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已新建固定小组“{group.title}”，并排好了今后四周的活动。")
                return redirect("rehab:group", pk=group.pk)
        status = 400
    return render(request, "rehab/group_form.html", {"form": form}, status=status)


@login_required
@require_GET
def group_detail(request, pk: int):
    _reads(request)
    group = selectors_groups.group_for(request.user, pk)
    manage = selectors_groups.manages(request.user, group)
    page = selectors_groups.group_page(group)
    if manage:
        # The members' names are shown: each of them has the read on their trail.
        audit.record_many(
            actor=request.user,
            action=AuditAction.VIEW,
            rows=[(group, r.member.case.person_id) for r in page["rates"]],
            summary=f"查看固定小组“{group.title}”",
        )
    today = timezone.localdate()
    context = {
        "group": group,
        "manage": manage,
        "today": today,
        "next_meeting": next(
            (m for m in page["meetings"] if m.state == MeetingState.PLANNED and m.meets_on >= today), None
        ),
        **page,
    }
    if manage:
        context["member_form"] = f.MemberAddForm(cases=_served_cases(request))
        context["end_form"] = f.GroupEndForm(initial={"end_on": group.end_on or today})
    return render(request, "rehab/group.html", context)


@login_required
@require_POST
def group_member_add(request, pk: int):
    group = selectors_groups.group_for(request.user, pk)
    _managed(request, group)

    def add(data) -> str:
        group_services.group_member_add(
            actor=request.user, group=group, case_id=data["case"].pk, joined_on=data["joined_on"]
        )
        return f"{data['case'].person.name}已加入小组。"

    _act(request, f.MemberAddForm(request.POST, cases=_served_cases(request)), add)
    return redirect("rehab:group", pk=group.pk)


@login_required
@require_POST
def group_member_leave(request, pk: int):
    member = selectors_groups.member_for(request.user, pk)
    _managed(request, member.group)

    def leave(data) -> str:
        group_services.group_member_leave(actor=request.user, member=member, left_on=data["left_on"])
        return f"{member.case.person.name}已退出小组。"

    _act(request, f.MemberLeaveForm(request.POST), leave)
    return redirect("rehab:group", pk=member.group_id)


@login_required
@require_POST
def group_end(request, pk: int):
    group = selectors_groups.group_for(request.user, pk)
    _managed(request, group)

    def end(data) -> str:
        dropped = group_services.group_end(actor=request.user, group=group, end_on=data["end_on"])
        return f"小组将于 {group.end_on} 结束，已撤销此后 {dropped} 次活动安排。"

    _act(request, f.GroupEndForm(request.POST), end)
    return redirect("rehab:group", pk=group.pk)


@login_required
def meeting_detail(request, pk: int):
    _reads(request)
    meeting = selectors_groups.meeting_for(request.user, pk)
    group = meeting.group
    manage = selectors_groups.manages(request.user, group)
    members = group_services.members_on(group, meeting.meets_on)
    form = None
    status = 200
    if manage and meeting.state == MeetingState.PLANNED:
        form = f.MeetingHoldForm(
            request.POST or None,
            cases=_served_cases(request),
            staff=selectors_groups.staff_here(request.user),
            # Attendance starts from the members on that day; the worker unticks who did not come.
            initial={"patients": [m.case_id for m in members], "mode": "site"},
        )
    if request.method == "POST":
        if not manage:
            raise PermissionDenied(group_services.NOT_YOUR_GROUP)
        if form is None:
            messages.error(request, group_services.STATE_CHANGED)
            return redirect("rehab:group_meeting", pk=meeting.pk)
        if form.is_valid():
            d = form.cleaned_data
            try:
                group_services.meeting_hold(
                    actor=request.user,
                    meeting=meeting,
                    data=group_services.MeetingData(
                        mode=d["mode"],
                        patients=[c.pk for c in d["patients"]],
                        content=d["content"],
                        leader=d["leader"],
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已登记 {meeting.meets_on} 的小组活动出勤。")
                return redirect("rehab:group_meeting", pk=meeting.pk)
        status = 400
    attended = []
    if meeting.activity_id and manage:
        attended = list(
            meeting.activity.attendances.select_related("case__person").order_by("is_family", "id")
        )
    if manage:
        audit.record_many(
            actor=request.user,
            action=AuditAction.VIEW,
            rows=[(meeting, m.case.person_id) for m in members]
            + [(meeting, a.case.person_id) for a in attended],
            summary=f"查看固定小组“{group.title}” {meeting.meets_on} 的活动",
        )
    return render(
        request,
        "rehab/group_meeting.html",
        {
            "meeting": meeting,
            "group": group,
            "manage": manage,
            "members": members,
            "attended": attended,
            "form": form,
            "cancel_form": f.MeetingCancelForm() if form is not None else None,
        },
        status=status,
    )


@login_required
@require_POST
def meeting_cancel(request, pk: int):
    meeting = selectors_groups.meeting_for(request.user, pk)
    _managed(request, meeting.group)

    def cancel(data) -> str:
        group_services.meeting_cancel(actor=request.user, meeting=meeting, reason=data["reason"])
        return f"已取消 {meeting.meets_on} 的活动。"

    _act(request, f.MeetingCancelForm(request.POST), cancel)
    return redirect("rehab:group_meeting", pk=meeting.pk)
