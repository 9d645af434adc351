"""Vocational placements (就业安置)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from kangfu.core import audit
from kangfu.core.models import AuditAction, User
from kangfu.rehab.models import Case, EmploymentType, Placement, PlacementOutcome
from kangfu.rehab.services.common import NOT_YOUR_CASE, require_own_case
from kangfu.rehab.services.counters import count

PLACEMENT_DATES = "结束日期不能早于上岗日期。"
NEGATIVE = "金额不能为负数。"
PLACEMENT_TYPE = "请选择就业类型。"


@dataclass
class PlacementData:
    employer: str
    employment_type: str
    job: str
    starts_on: dt.date
    ends_on: dt.date | None = None
    monthly_subsidy: Decimal = Decimal("0")
    outcome: str = PlacementOutcome.ONGOING
    note: str = ""


def placement_save(
    *, actor: User, case: Case, data: PlacementData, placement: Placement | None = None
) -> Placement:
    require_own_case(actor, case)
    if data.employment_type not in EmploymentType.values:
        raise ValidationError({"employment_type": PLACEMENT_TYPE})
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise ValidationError({"ends_on": PLACEMENT_DATES})
    if data.monthly_subsidy < 0:
        raise ValidationError({"monthly_subsidy": NEGATIVE})
    with transaction.atomic():
        if placement is None:
            placement = Placement.objects.create(case=case, district_id=case.district_id, **data.__dict__)
            count(
                institution_id=case.institution_id,
                district_id=case.district_id,
                day=data.starts_on,
                measure="placements",
                key=data.employment_type,
            )
            action = AuditAction.CREATE
        else:
            # Read it again, locked: the counter correction below needs what is stored, not what the
            # caller's copy says.
            placement = Placement.objects.select_for_update().get(pk=placement.pk)
            if placement.case_id != case.pk:
                raise PermissionDenied(NOT_YOUR_CASE)
            before = (placement.starts_on, placement.employment_type)
            for key, value in data.__dict__.items():
                setattr(placement, key, value)
            placement.save()
            if before != (data.starts_on, data.employment_type):
                # The counter is by start month and type: a corrected start or type moves it.
                common = {"institution_id": case.institution_id, "district_id": case.district_id}
                count(**common, day=before[0], measure="placements", key=before[1], n=-1)
                count(**common, day=data.starts_on, measure="placements", key=data.employment_type)
            action = AuditAction.UPDATE
        audit.record(
            actor=actor,
            action=action,
            obj=placement,
            person_id=case.person_id,
            summary=f"{placement.get_employment_type_display()}：{placement.employer} {placement.job}（{placement.get_outcome_display()}）",
        )
    return placement
