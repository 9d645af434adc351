"""The register of institutions: their profile, their professional staff and its training hours."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Organisation, User
from kangfu.rehab.models import InstitutionProfile, StaffMember, Training
from kangfu.rehab.services.common import _not_future

TRAINING_HOURS = "学时应大于 0。"


def institution_profile_save(
    *, actor: User, organisation: Organisation, values: dict[str, Any]
) -> InstitutionProfile:
    _own_org(actor, organisation)
    with transaction.atomic():
        profile, created = InstitutionProfile.objects.update_or_create(
            organisation=organisation, defaults=values
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            obj=profile,
            summary=f"机构登记：{organisation.name}",
        )
    return profile


def _own_org(actor: User, organisation: Organisation) -> None:
    if organisation.pk not in access.rehab_org_ids(actor):
        region = actor.jurisdiction
        if not (
            access.policy(actor).rehab_intake
            and region is not None
            and region.contains(organisation.region_id)
        ):
            raise PermissionDenied(access.NOT_ALLOWED)


def staff_save(
    *, actor: User, organisation: Organisation, values: dict[str, Any], staff: StaffMember | None = None
) -> StaffMember:
    _own_org(actor, organisation)
    with transaction.atomic():
        if staff is None:
            staff = StaffMember.objects.create(organisation=organisation, **values)
            action = AuditAction.CREATE
        else:
            for key, value in values.items():
                setattr(staff, key, value)
            staff.save()
            action = AuditAction.UPDATE
        audit.record(actor=actor, action=action, obj=staff, summary=f"专业人员：{staff.name}")
    return staff


def training_add(
    *, actor: User, staff: StaffMember, held_on: dt.date, hours: Decimal, topic: str, provider: str = ""
) -> Training:
    _own_org(actor, staff.organisation)
    if hours <= 0:
        raise ValidationError({"hours": TRAINING_HOURS})
    _not_future(held_on, "held_on")
    with transaction.atomic():
        training = Training.objects.create(
            staff=staff, held_on=held_on, hours=hours, topic=topic, provider=provider
        )
        audit.record(
            actor=actor, action=AuditAction.CREATE, obj=training, summary=f"培训 {hours} 学时：{staff.name}"
        )
    return training
