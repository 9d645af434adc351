"""Reads of recurring groups: the institution's workers see their own groups with the members' names;
civil affairs reads the groups of its jurisdiction, their meetings and attendance rates, but not who
the members are (being in a 精康 group says a person has a mental illness)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from kangfu.core import access
from kangfu.core.models import User
from kangfu.rehab.models import (
    Attendance,
    GroupMeeting,
    GroupMember,
    MeetingState,
    RecurringGroup,
    StaffMember,
)


def groups_for(user: User) -> QuerySet[RecurringGroup]:
    ids = access.rehab_org_ids(user)
    if ids:
        return RecurringGroup.objects.filter(institution_id__in=ids)
    if access.policy(user).reads_rehab_stats:
        return RecurringGroup.objects.filter(access.district_q(user))
    return RecurringGroup.objects.none()


def manages(user: User, group: RecurringGroup) -> bool:
    """Whether the user is a worker of the group's institution (who may change it and see names)."""
    return access.policy(user).runs_rehab and group.institution_id in access.rehab_org_ids(user)


def group_list(user: User) -> list[RecurringGroup]:
    """The groups in scope with their current members and meetings held, newest first (a worklist of
    at most 200, as rehab's worklists are)."""
    return list(
        groups_for(user)
        .select_related("institution", "leader")
        .annotate(
            n_members=Count("members", filter=Q(members__left_on__isnull=True), distinct=True),
            n_held=Count("meetings", filter=Q(meetings__state=MeetingState.HELD), distinct=True),
        )
        .order_by("-start_on", "-id")[:200]
    )


def group_for(user: User, pk: int) -> RecurringGroup:
    try:
        return groups_for(user).select_related("institution", "leader").get(pk=pk)
    except (RecurringGroup.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def meeting_for(user: User, pk: int) -> GroupMeeting:
    try:
        return GroupMeeting.objects.select_related("group__institution", "leader", "activity").get(
            pk=pk, group__in=groups_for(user)
        )
    except (GroupMeeting.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def member_for(user: User, pk: int) -> GroupMember:
    try:
        return GroupMember.objects.select_related("group", "case__person").get(
            pk=pk, group__in=groups_for(user)
        )
    except (GroupMember.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


@dataclass
class MemberRate:
    member: GroupMember
    held: int  # meetings held while a member
    attended: int

    @property
    def rate(self) -> Decimal | None:
        if not self.held:
            return None
        return (Decimal(self.attended * 100) / self.held).quantize(Decimal("0.1"))


def group_page(group: RecurringGroup) -> dict:
    """The group's meetings, and each member's attendance rate: of the meetings held while they were a
    member, the share they came to (cancelled meetings count for no one). Three queries."""
    meetings = list(group.meetings.select_related("leader", "activity").order_by("meets_on"))
    members = list(group.members.select_related("case__person").order_by("left_on", "joined_on", "id"))
    held = {m.activity_id: m.meets_on for m in meetings if m.state == MeetingState.HELD}
    came = set(
        Attendance.objects.filter(activity_id__in=list(held), is_family=False).values_list(
            "activity_id", "case_id"
        )
    )
    rates = []
    for member in members:
        during = [
            activity_id
            for activity_id, day in held.items()
            if member.joined_on <= day and (member.left_on is None or day <= member.left_on)
        ]
        rates.append(
            MemberRate(
                member=member,
                held=len(during),
                attended=sum(1 for activity_id in during if (activity_id, member.case_id) in came),
            )
        )
    return {"meetings": meetings, "rates": rates}


def staff_here(user: User) -> QuerySet[StaffMember]:
    """The staff in post at the user's institution and its sites, who may lead a group."""
    return StaffMember.objects.filter(
        organisation_id__in=access.rehab_org_ids(user), left_on__isnull=True
    ).order_by("profession", "name")
