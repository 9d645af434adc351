"""Cleaning and disinfection of a returned or repaired unit (MZ/T 175.2-2021)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kangfu.core import audit
from kangfu.core.models import AuditAction, User
from kangfu.devices.models import DISINFECTION_STEPS, Disinfection, RentalStatus, Unit, UnitStatus
from kangfu.devices.services.common import FUTURE, check_same_centre
from kangfu.devices.services.units import move_unit

STEPS_MISSING = "清洗消毒未完成以下步骤，不能判定合格：{steps}。"
FINISH_BEFORE_START = "完成时间不能早于开始时间。"
NOT_WAITING_FOR_CLEANING = "只有已归还、清洗消毒中或维修后的设备才能登记清洗消毒。"


def disinfection_record(
    *,
    actor: User,
    unit: Unit,
    method: str,
    agent: str,
    steps: list[str],
    started_at: dt.datetime,
    finished_at: dt.datetime,
    passed: bool,
    check_note: str = "",
) -> Disinfection:
    """Record cleaning and disinfection (MZ/T 175.2-2021). A pass with every step done makes the unit
    available; otherwise it stays in cleaning."""
    check_same_centre(actor, unit.product.centre_id)
    if unit.status not in (UnitStatus.RETURNED, UnitStatus.CLEANING):
        raise ValidationError(NOT_WAITING_FOR_CLEANING)
    if finished_at < started_at:
        raise ValidationError({"finished_at": [FINISH_BEFORE_START]})
    if finished_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"finished_at": [FUTURE]})
    known = [key for key, _label in DISINFECTION_STEPS]
    missing = [label for key, label in DISINFECTION_STEPS if key not in steps]
    if passed and missing:
        raise ValidationError({"steps": [STEPS_MISSING.format(steps="；".join(missing))]})
    last_rental = unit.rentals.filter(status=RentalStatus.RETURNED).order_by("-returned_on", "-id").first()
    with transaction.atomic():
        record = Disinfection.objects.create(
            unit=unit,
            rental=last_rental,
            method=method,
            agent=agent,
            steps=[s for s in known if s in steps],
            started_at=started_at,
            finished_at=finished_at,
            operator=actor,
            passed=passed,
            check_note=check_note,
        )
        if unit.status == UnitStatus.RETURNED:
            move_unit(
                unit, to=UnitStatus.CLEANING, expected=[UnitStatus.RETURNED], actor=actor, note="开始清洗消毒"
            )
        if passed:
            move_unit(
                unit,
                to=UnitStatus.AVAILABLE,
                expected=[UnitStatus.CLEANING],
                actor=actor,
                note="消毒合格，可出租",
            )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=record,
            summary=f"设备 {unit.serial} 清洗消毒{'合格' if passed else '未合格'}",
        )
    return record
