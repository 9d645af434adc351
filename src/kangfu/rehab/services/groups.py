"""Recurring groups (固定小组): defining a group and its members, generating its meetings ahead, and taking
a meeting, which records an activity through `activities.activity_record` (attendance, counters, last
service) or cancels it with a reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, User
from kangfu.core.transitions import Conflict
from kangfu.rehab.models import (
    WEEKDAYS,
    ActivityForm,
    Case,
    CaseStatus,
    GroupMeeting,
    GroupMember,
    MeetingState,
    RecurringGroup,
    ServiceType,
    StaffMember,
)
from kangfu.rehab.services import activities as activity_services
from kangfu.rehab.services.common import STATE_CHANGED, _advance, _district_of, require_home

# Meetings exist this many weeks ahead: far enough to plan a month, near enough that a change of
# weekday or an end date touches few rows.
GENERATE_WEEKS = 4
# A group may be entered after it started (the paper register came first), but not so long after
# that the generator would fill months of meetings nobody can record any more.
BACKDATE_DAYS = 31

NOT_YOUR_GROUP = "该小组不属于您的机构。"
NO_WEEKDAYS = "请至少选择一个每周活动日。"
ENDS_BEFORE = "结束日期不能早于开始日期。"
STARTS_TOO_EARLY = "开始日期不能早于 {day}（补录最多 31 天）。"
LEADER_NOT_HERE = "带领人须是本机构在职的工作人员或同伴支持员。"
NOT_A_GROUP_FORM = "个案服务不能设为小组。"
MEMBERS_NOT_SERVED = "以下人员未在本机构接受服务，不能加入小组：{names}。"
ALREADY_MEMBER = "{name}已是该小组成员。"
LEFT_BEFORE_JOINING = "退出日期不能早于加入日期 {day}。"
ALREADY_LEFT = "该成员已退出小组。"
JOINED_BEFORE_START = "加入日期不能早于小组开始日期 {day}。"
NOT_YET = "该次活动在 {day}，尚未到，不能登记出勤。"
NEEDS_REASON = "请填写取消原因。"
END_BEFORE_HELD = "{day} 的活动已开展，结束日期不能早于该日。"


def meeting_dates(weekdays: list[int], first: dt.date, last: dt.date) -> list[dt.date]:
    """The days from `first` to `last` (both included) that fall on one of `weekdays` (Monday 0)."""
    wanted = set(weekdays)
    days = []
    day = first
    while day <= last:
        if day.weekday() in wanted:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


@dataclass
class GroupData:
    title: str
    form: str
    service_type: str
    weekdays: list[int]
    starts_at: dt.time
    start_on: dt.date
    end_on: dt.date | None = None
    place: str = ""
    leader: StaffMember | None = None
    members: list[int] = field(default_factory=list)  # case ids


@dataclass
class MeetingData:
    mode: str
    patients: list[int] = field(default_factory=list)  # case ids of those who came
    family: list[dict[str, Any]] = field(default_factory=list)  # as in ActivityData
    content: str = ""
    leader: StaffMember | None = None  # who led it, if not the one planned


def _own_group(actor: User, group: RecurringGroup) -> None:
    require_home(actor)
    if group.institution_id not in access.rehab_org_ids(actor):
        raise PermissionDenied(NOT_YOUR_GROUP)


def _check_leader(actor: User, leader: StaffMember | None) -> None:
    if leader is not None and (
        leader.organisation_id not in access.rehab_org_ids(actor) or leader.left_on is not None
    ):
        raise ValidationError({"leader": LEADER_NOT_HERE})


def _servable(actor: User, case_ids: list[int], field_name: str = "members") -> dict[int, Case]:
    """The cases, all served by the actor's institution now, or a refusal naming those that are not."""
    ids = access.rehab_org_ids(actor)
    cases = {c.pk: c for c in Case.objects.filter(pk__in=case_ids).select_related("person")}
    bad = [
        cases[pk].person.name if pk in cases and cases[pk].institution_id in ids else f"档案 {pk}"
        for pk in sorted(set(case_ids))
        if pk not in cases
        or cases[pk].institution_id not in ids
        or cases[pk].status not in (CaseStatus.ENROLLED, CaseStatus.ACTIVE)
    ]
    if bad:
        raise ValidationError({field_name: MEMBERS_NOT_SERVED.format(names="、".join(bad))})
    return cases


def group_create(*, actor: User, data: GroupData, today: dt.date | None = None) -> RecurringGroup:
    """A group of the actor's institution with its first members and its meetings from the start date
    to `GENERATE_WEEKS` ahead."""
    home = require_home(actor)
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}
    weekdays = sorted({int(d) for d in data.weekdays})
    if not weekdays or any(d not in dict(WEEKDAYS) for d in weekdays):
        errors["weekdays"] = [NO_WEEKDAYS]
    if data.form not in ActivityForm.values or data.form == ActivityForm.INDIVIDUAL:
        errors["form"] = [NOT_A_GROUP_FORM]
    if data.service_type not in ServiceType.values:
        errors["service_type"] = ["请选择服务类型。"]
    if data.end_on is not None and data.end_on < data.start_on:
        errors["end_on"] = [ENDS_BEFORE]
    earliest = today - dt.timedelta(days=BACKDATE_DAYS)
    if data.start_on < earliest:
        errors["start_on"] = [STARTS_TOO_EARLY.format(day=earliest)]
    if errors:
        raise ValidationError(errors)
    _check_leader(actor, data.leader)
    cases = _servable(actor, data.members)
    with transaction.atomic():
        group = RecurringGroup.objects.create(
            institution=home,
            district_id=_district_of(home),
            title=data.title[:100],
            form=data.form,
            service_type=data.service_type,
            weekdays=weekdays,
            starts_at=data.starts_at,
            place=data.place[:100],
            leader=data.leader,
            start_on=data.start_on,
            end_on=data.end_on,
            created_by=actor,
        )
        # The first members are members from the start, a backdated start included.
        GroupMember.objects.bulk_create(
            [GroupMember(group=group, case_id=pk, joined_on=data.start_on) for pk in cases]
        )
        audit.record(
            actor=actor, action=AuditAction.CREATE, obj=group, summary=f"新建固定小组“{group.title}”"
        )
        audit.record_many(
            actor=actor,
            action=AuditAction.CREATE,
            rows=[(group, case.person_id) for case in cases.values()],
            summary=f"加入固定小组“{group.title}”",
        )
        meetings_generate(today=today, groups=[group], since=data.start_on)
    return group


def meetings_generate(
    *, today: dt.date | None = None, groups: list[RecurringGroup] | None = None, since: dt.date | None = None
) -> int:
    """Add the meetings of every running group (or of `groups`) from `since` (today) to
    `GENERATE_WEEKS` ahead that do not exist yet; returns how many were added. Safe to run twice, or
    twice at once: the unique (group, day) constraint lets the second insert nothing."""
    today = today or timezone.localdate()
    since = since or today
    horizon = today + dt.timedelta(weeks=GENERATE_WEEKS) - dt.timedelta(days=1)
    if groups is None:
        groups = list(
            RecurringGroup.objects.filter(start_on__lte=horizon).filter(
                Q(end_on__isnull=True) | Q(end_on__gte=since)
            )
        )
    if not groups:
        return 0
    existing = set(
        GroupMeeting.objects.filter(
            group__in=[g.pk for g in groups], meets_on__gte=since, meets_on__lte=horizon
        ).values_list("group_id", "meets_on")
    )
    new = [
        GroupMeeting(group_id=g.pk, meets_on=day, leader_id=g.leader_id)
        for g in groups
        for day in meeting_dates(g.weekdays, max(g.start_on, since), min(g.end_on or horizon, horizon))
        if (g.pk, day) not in existing
    ]
    GroupMeeting.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    return len(new)


def group_end(*, actor: User, group: RecurringGroup, end_on: dt.date) -> int:
    """The group meets no more after `end_on`: its planned meetings after that day go; returns how many."""
    _own_group(actor, group)
    if end_on < group.start_on:
        raise ValidationError({"end_on": ENDS_BEFORE})
    later_held = (
        GroupMeeting.objects.filter(group=group, meets_on__gt=end_on)
        .exclude(state=MeetingState.PLANNED)
        .order_by("-meets_on")
        .values_list("meets_on", flat=True)
        .first()
    )
    if later_held is not None:
        raise ValidationError({"end_on": END_BEFORE_HELD.format(day=later_held)})
    with transaction.atomic():
        before = group.end_on
        RecurringGroup.objects.filter(pk=group.pk).update(end_on=end_on)
        dropped, _ = GroupMeeting.objects.filter(
            group=group, meets_on__gt=end_on, state=MeetingState.PLANNED
        ).delete()
        group.end_on = end_on
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=group,
            summary=f"固定小组“{group.title}”结束于 {end_on}",
            changes={"end_on": [str(before) if before else None, str(end_on)]},
        )
    return dropped


def group_member_add(*, actor: User, group: RecurringGroup, case_id: int, joined_on: dt.date) -> GroupMember:
    _own_group(actor, group)
    if joined_on < group.start_on:
        raise ValidationError({"joined_on": JOINED_BEFORE_START.format(day=group.start_on)})
    case = _servable(actor, [case_id], "case")[case_id]
    already = ALREADY_MEMBER.format(name=case.person.name)
    if GroupMember.objects.filter(group=group, case=case, left_on__isnull=True).exists():
        raise ValidationError({"case": already})
    try:
        with transaction.atomic():
            member = GroupMember.objects.create(group=group, case=case, joined_on=joined_on)
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=group,
                person_id=case.person_id,
                summary=f"加入固定小组“{group.title}”（{joined_on}）",
            )
    except IntegrityError:
        raise Conflict(already, code="stale") from None
    return member


def group_member_leave(*, actor: User, member: GroupMember, left_on: dt.date) -> None:
    group = member.group
    _own_group(actor, group)
    if left_on < member.joined_on:
        raise ValidationError({"left_on": LEFT_BEFORE_JOINING.format(day=member.joined_on)})
    with transaction.atomic():
        if GroupMember.objects.filter(pk=member.pk, left_on__isnull=True).update(left_on=left_on) != 1:
            raise Conflict(ALREADY_LEFT, code="stale")
        member.left_on = left_on
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=group,
            person_id=member.case.person_id,
            summary=f"退出固定小组“{group.title}”（{left_on}）",
        )


def members_on(group: RecurringGroup, day: dt.date) -> list[GroupMember]:
    """The members of the group on `day`: joined by then and not left before it."""
    return list(
        GroupMember.objects.filter(group=group, joined_on__lte=day)
        .filter(Q(left_on__isnull=True) | Q(left_on__gte=day))
        .select_related("case__person")
        .order_by("case__person__name")
    )


def meeting_hold(*, actor: User, meeting: GroupMeeting, data: MeetingData) -> GroupMeeting:
    """Record a planned meeting as held: its activity is recorded by `activity_record`, so attendance,
    the monthly counters and each person's last service are kept as for any activity."""
    group = meeting.group
    _own_group(actor, group)
    if meeting.meets_on > timezone.localdate():
        raise ValidationError(NOT_YET.format(day=meeting.meets_on))
    if meeting.state != MeetingState.PLANNED:
        raise Conflict(STATE_CHANGED, code="stale")
    leader = data.leader or meeting.leader
    _check_leader(actor, data.leader)
    with transaction.atomic():
        activity = activity_services.activity_record(
            actor=actor,
            data=activity_services.ActivityData(
                form=group.form,
                service_type=group.service_type,
                mode=data.mode,
                title=group.title,
                held_on=meeting.meets_on,
                place=group.place,
                content=data.content,
                # The activity's leader is an account; a peer supporter without one is named on
                # the meeting, and the worker who recorded it stands in on the activity.
                leader=leader.user if leader is not None and leader.user_id else actor,
                patients=list(data.patients),
                family=list(data.family),
            ),
        )
        # Two workers taking the same meeting: the second one's activity goes with its transaction.
        _advance(
            GroupMeeting,
            meeting.pk,
            expected=[MeetingState.PLANNED],
            field_name="state",
            state=MeetingState.HELD,
            activity=activity,
            leader=leader,
            done_by=actor,
        )
    meeting.state, meeting.activity, meeting.leader = MeetingState.HELD, activity, leader
    return meeting


def meeting_cancel(*, actor: User, meeting: GroupMeeting, reason: str) -> GroupMeeting:
    """A planned meeting did not take place: kept with its reason, counted nowhere."""
    _own_group(actor, meeting.group)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": NEEDS_REASON})
    with transaction.atomic():
        _advance(
            GroupMeeting,
            meeting.pk,
            expected=[MeetingState.PLANNED],
            field_name="state",
            state=MeetingState.CANCELLED,
            cancel_reason=reason[:200],
            done_by=actor,
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=meeting,
            summary=f"取消固定小组“{meeting.group.title}” {meeting.meets_on} 的活动：{reason[:60]}",
        )
    meeting.state, meeting.cancel_reason = MeetingState.CANCELLED, reason[:200]
    return meeting
