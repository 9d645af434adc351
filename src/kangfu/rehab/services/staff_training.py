"""Attendance at a training held by civil affairs (a 精康 programme training), written as the staff
member's training record: the hours count toward the yearly requirement and the statistics' "staff
trained" like a training the institution entered itself. And what makes a peer supporter (同伴支持员)
more than a profession: their own requirement of hours, and their own case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, User
from kangfu.rehab.models import (
    Case,
    Profession,
    StaffMember,
    Training,
)
from kangfu.rehab.services.common import _not_future, require_home
from kangfu.rehab.services.institutions import TRAINING_HOURS

LEFT_BEFORE = "{name} 已于 {day} 离职，不能记录此后的培训。"


def training_attendance_record(
    *, actor: User, staff: StaffMember, held_on: dt.date, hours: Decimal, topic: str, provider: str
) -> Training:
    """A member of staff attended a training held by civil affairs of their jurisdiction (the city's
    or the district's administrators, who read the staff's statistics). Joins the caller's
    transaction, so a training's attendance is recorded whole or not at all."""
    if not access.policy(actor).reads_rehab_stats or not access.region_in_jurisdiction(
        actor, staff.organisation.region_id
    ):
        raise PermissionDenied(access.NOT_ALLOWED)
    if hours is None or hours <= 0:
        raise ValidationError({"hours": TRAINING_HOURS})
    _not_future(held_on, "held_on")
    if staff.left_on is not None and staff.left_on < held_on:
        raise ValidationError(LEFT_BEFORE.format(name=staff.name, day=staff.left_on))
    with transaction.atomic():
        training = Training.objects.create(
            staff=staff, held_on=held_on, hours=hours, topic=topic[:200], provider=provider[:100]
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=training,
            summary=f"参加培训 {hours} 学时：{staff.name}（{topic[:60]}）",
        )
    return training


NOT_A_PEER = "只有同伴支持员可以关联本人的康复档案。"
NOT_OUR_STAFF = "该人员不是本机构的工作人员。"
CASE_NOT_HERE = "只能关联本机构服务过的档案。"


def peer_case_link(*, actor: User, staff: StaffMember, case: Case | None) -> StaffMember:
    """A peer supporter's own case (the recovered person they are), or none. Only the institution that
    employs them records it, and only with a case it serves or served: another institution's case it
    cannot see, and the link shows that case's person to no one who could not see the case already."""
    require_home(actor)
    ids = access.rehab_org_ids(actor)
    if staff.organisation_id not in ids:
        raise PermissionDenied(NOT_OUR_STAFF)
    if staff.profession != Profession.PEER:
        raise ValidationError({"own_case": NOT_A_PEER})
    if case is not None and case.institution_id not in ids:
        raise ValidationError({"own_case": CASE_NOT_HERE})
    with transaction.atomic():
        before = staff.own_case
        StaffMember.objects.filter(pk=staff.pk).update(own_case=case)
        staff.own_case = case
        changed = case or before
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=staff,
            person_id=changed.person_id if changed is not None else None,
            summary=f"同伴支持员{staff.name}{'关联' if case is not None else '取消关联'}本人康复档案",
        )
    return staff
