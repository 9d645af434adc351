"""Attendance at a training held by civil affairs (a 精康 programme training), written as the staff
member's training record: the hours count toward the yearly requirement and the statistics' "staff
trained" like a training the institution entered itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, User
from kangfu.rehab.models import StaffMember, Training
from kangfu.rehab.services.common import _not_future
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
