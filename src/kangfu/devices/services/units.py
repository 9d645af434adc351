"""Serial-numbered units: into stock, between outlets, and through their states.

A unit moves only through `core.transitions.advance` (its status must still be what the service
expects), so of two clerks acting on one unit at once the second gets a `Conflict`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kangfu.core import audit
from kangfu.core.models import AuditAction, Organisation, User
from kangfu.core.transitions import Conflict, advance
from kangfu.devices.models import Product, Rental, Unit, UnitEvent, UnitStatus
from kangfu.devices.services.common import check_same_centre

UNIT_NOT_AVAILABLE = "该设备当前不可出租（可能刚被他人租出，或尚未完成清洗消毒）。请选择其他设备。"
FORBIDDEN_MOVE = "设备状态不能从“{old}”改为“{new}”。"
MOVE_BUSY = "已预订或租出的设备不能调拨。"
DUPLICATE_SERIAL = "设备编号已存在：{serials}。"

# A unit in these states is promised to or with a renter: it stays where it is.
BUSY = (UnitStatus.RESERVED, UnitStatus.RENTED)

# Moves a clerk may make by hand; the rental and disinfection services make the others.
MANUAL_MOVES = {
    UnitStatus.AVAILABLE: {UnitStatus.REPAIR, UnitStatus.RETIRED},
    UnitStatus.RETURNED: {UnitStatus.REPAIR, UnitStatus.RETIRED},
    UnitStatus.CLEANING: {UnitStatus.REPAIR, UnitStatus.RETIRED},
    UnitStatus.REPAIR: {UnitStatus.CLEANING, UnitStatus.RETIRED},
}


def units_add(
    *,
    actor: User | None,
    product: Product,
    outlet: Organisation,
    serials: Iterable[str],
    acquired_on: dt.date,
) -> list[Unit]:
    """Put new units into stock at an outlet of the product's centre."""
    check_same_centre(actor, product.centre_id)
    if outlet.pk != product.centre_id and outlet.parent_id != product.centre_id:
        raise ValidationError({"outlet": ["网点不属于该租赁中心。"]})
    clean = [s.strip() for s in serials if s.strip()]
    if not clean:
        raise ValidationError({"serials": ["请填写设备编号，每行一个。"]})
    duplicates = sorted(
        {s for s in clean if clean.count(s) > 1}
        | set(Unit.objects.filter(serial__in=clean).values_list("serial", flat=True))
    )
    if duplicates:
        raise ValidationError({"serials": [DUPLICATE_SERIAL.format(serials="、".join(duplicates))]})
    now = timezone.now()
    with transaction.atomic():
        units = Unit.objects.bulk_create(
            [
                Unit(product=product, outlet=outlet, serial=s, acquired_on=acquired_on, status_changed_at=now)
                for s in clean
            ]
        )
        units = list(Unit.objects.filter(serial__in=clean))
        UnitEvent.objects.bulk_create(
            [
                UnitEvent(unit=u, actor=actor, to_status=UnitStatus.AVAILABLE, to_outlet=outlet, note="入库")
                for u in units
            ]
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="devices.unit",
            summary=f"{product} 入库 {len(units)} 台（{outlet}）",
            changes={"serials": clean},
        )
    return units


def move_unit(
    unit: Unit,
    *,
    to: str,
    expected: Iterable[str],
    actor: User | None,
    rental: Rental | None = None,
    note: str = "",
) -> None:
    """Change a unit's status only if it is still in one of the expected states, and write the line
    of its history; otherwise `Conflict`. A building block of this package's services, which hold
    the transaction and write the audit row."""
    rows = Unit.objects.filter(pk=unit.pk)
    try:
        advance(rows, expected=expected, message="", status=to, status_changed_at=timezone.now())
    except Conflict:
        # Say the state the unit is in now: the one the clerk saw is no longer true.
        current = rows.values_list("status", flat=True).get()
        raise Conflict(
            FORBIDDEN_MOVE.format(old=UnitStatus(current).label, new=UnitStatus(to).label)
        ) from None
    UnitEvent.objects.create(
        unit=unit, actor=actor, from_status=unit.status, to_status=to, rental=rental, note=note
    )
    unit.status = to


def unit_set_status(*, actor: User, unit: Unit, to: str, note: str = "") -> Unit:
    """A clerk's own move: to repair, back from repair to cleaning, or retired."""
    check_same_centre(actor, unit.product.centre_id)
    allowed = MANUAL_MOVES.get(UnitStatus(unit.status), set())
    if to not in allowed:
        raise ValidationError(
            FORBIDDEN_MOVE.format(old=UnitStatus(unit.status).label, new=UnitStatus(to).label)
        )
    with transaction.atomic():
        move_unit(unit, to=to, expected=[unit.status], actor=actor, note=note)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=unit,
            summary=f"设备 {unit.serial} 改为{UnitStatus(to).label}",
        )
    return unit


def unit_transfer(*, actor: User, unit: Unit, to_outlet: Organisation, note: str = "") -> Unit:
    """Move a unit to another outlet of the same centre; not while it is reserved or out."""
    check_same_centre(actor, unit.product.centre_id)
    if to_outlet.pk != unit.product.centre_id and to_outlet.parent_id != unit.product.centre_id:
        raise ValidationError({"outlet": ["网点不属于该租赁中心。"]})
    with transaction.atomic():
        advance(
            Unit.objects.filter(pk=unit.pk),
            expected=[s for s in UnitStatus.values if s not in BUSY],
            message=MOVE_BUSY,
            outlet=to_outlet,
        )
        UnitEvent.objects.create(
            unit=unit, actor=actor, from_outlet_id=unit.outlet_id, to_outlet=to_outlet, note=note or "调拨"
        )
        audit.record(
            actor=actor, action=AuditAction.UPDATE, obj=unit, summary=f"设备 {unit.serial} 调拨至 {to_outlet}"
        )
    unit.outlet = to_outlet
    return unit
