"""Rentals: reserve a unit for a person and book the bill, hand it over with training, extend, take it
back, or cancel before hand-over.

Every change of a rental's state, and of its unit's, goes through `core.transitions.advance`: of two
clerks acting on one rental or renting one unit at once, one succeeds and the other gets a `Conflict`
(the API's 409). The database's partial unique index allows one open rental per unit whatever happens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from kangfu.core import access, audit, events
from kangfu.core.models import AuditAction, User
from kangfu.core.months import add_months_to_day
from kangfu.core.transitions import Conflict, advance
from kangfu.devices import rules
from kangfu.devices.models import (
    ChargeKind,
    DeliveryMode,
    Rental,
    RentalRequest,
    RentalStatus,
    RequestStatus,
    ReturnCondition,
    ReturnInspection,
    Unit,
    UnitStatus,
)
from kangfu.devices.services.common import (
    FUTURE,
    MAX_MONTHS,
    NEGATIVE_MONEY,
    check_same_centre,
    local_today,
    require_centre,
)
from kangfu.devices.services.fittings import fitting_needed
from kangfu.devices.services.pricing import BAD_PERIOD, book, policy_of, quote, rules_policy
from kangfu.devices.services.rental_requests import REQUEST_DONE
from kangfu.devices.services.units import UNIT_NOT_AVAILABLE, move_unit
from kangfu.people.models import Person

NOT_CLEANED = "该设备尚未通过清洗消毒，不能出租。"
NEEDS_FITTING = "首次租用“{category}”类辅具，须先完成适配评估。"
FITTING_UNSUITABLE = "最近一次适配评估结论为不适合租用“{category}”类辅具。"
PERIOD_TOO_LONG = "单次租期最长 {months} 个月，到期可续租。"
START_TOO_EARLY = "起租日期不能早于今天 {days} 天以上。"
RENTAL_NOT_OPEN = "该租赁不在租用中，不能办理归还。"
RENTAL_NOT_RESERVED = "该租赁不是待交付状态。"
RENTAL_CHANGED = "该租赁不在租用中，或刚被他人修改，不能续租。"
EXTEND_NOT_LATER = "续租后的到期日期应晚于原到期日期 {end}。"
RETURN_BEFORE_START = "归还日期不能早于起租日期 {start}。"
DAMAGE_TOO_HIGH = "损坏赔偿不能超过设备重置价值 {value} 元。"
DAMAGE_NEEDS_NOTE = "验收为损坏时，请填写损坏情况。"
DELIVERY_WINDOW = "送货时段的结束时间应晚于开始时间。"
DELIVERY_ADDRESS = "送货上门须填写送货地址。"
DELIVERY_AFTER_END = "送货时间不能晚于租期结束。"


@dataclass(frozen=True)
class RentalData:
    unit_id: int
    start_date: dt.date
    end_date: dt.date
    injured: bool = False
    injured_note: str = ""
    delivery_mode: str = DeliveryMode.PICKUP
    delivery_address: str = ""
    delivery_from: dt.datetime | None = None
    delivery_to: dt.datetime | None = None
    subsidy: Decimal | None = None
    request_id: int | None = None


def _check_period(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ValidationError({"end_date": [BAD_PERIOD]})
    if add_months_to_day(start, MAX_MONTHS) <= end:
        raise ValidationError({"end_date": [PERIOD_TOO_LONG.format(months=MAX_MONTHS)]})


def rental_create(*, actor: User, person: Person, data: RentalData, today: dt.date | None = None) -> Rental:
    """Reserve a unit for a person and book the bill. Exactly one of two clerks renting the same
    unit at once succeeds; the other gets a `Conflict`, whether the unit's conditional update or the
    open-rental index stops them. A rental made for a citizen's request answers it, once."""
    centre = require_centre(actor)
    today = today or local_today()
    if not access.scope_people(Person.objects.filter(pk=person.pk), actor).exists():
        raise PermissionDenied(access.NOT_ALLOWED)
    unit = (
        Unit.objects.select_related("product", "product__category", "product__centre__region")
        .filter(pk=data.unit_id)
        .first()
    )
    if unit is None or unit.product.centre_id != centre.pk:
        raise ValidationError({"unit": [UNIT_NOT_AVAILABLE]})
    product = unit.product
    _check_period(data.start_date, data.end_date)
    if data.start_date < today - dt.timedelta(days=30):
        raise ValidationError({"start_date": [START_TOO_EARLY.format(days=30)]})
    if data.delivery_mode == DeliveryMode.HOME:
        if not data.delivery_address.strip():
            raise ValidationError({"delivery_address": [DELIVERY_ADDRESS]})
        if data.delivery_from and data.delivery_to and data.delivery_to <= data.delivery_from:
            raise ValidationError({"delivery_to": [DELIVERY_WINDOW]})
        if data.delivery_from and timezone.localtime(data.delivery_from).date() > data.end_date:
            raise ValidationError({"delivery_from": [DELIVERY_AFTER_END]})
    needed, fitting = fitting_needed(person=person, product=product)
    if needed:
        raise ValidationError(NEEDS_FITTING.format(category=product.category.name))
    if fitting is not None and not fitting.suitable:
        raise ValidationError(FITTING_UNSUITABLE.format(category=product.category.name))
    if unit.status in (UnitStatus.RESERVED, UnitStatus.RENTED):
        # Someone else has just rented it: the same answer as losing the race below.
        raise Conflict({"unit": [UNIT_NOT_AVAILABLE]})
    if unit.status != UnitStatus.AVAILABLE:
        raise ValidationError(
            {
                "unit": [
                    NOT_CLEANED
                    if unit.status in (UnitStatus.RETURNED, UnitStatus.CLEANING)
                    else UNIT_NOT_AVAILABLE
                ]
            }
        )
    try:
        with transaction.atomic():
            # Serialise rentals of one person so two at once cannot both spend the same yearly cap.
            Person.objects.select_for_update().filter(pk=person.pk).first()
            lines = quote(
                person=person,
                product=product,
                start=data.start_date,
                end=data.end_date,
                injured=data.injured,
                subsidy_limit=data.subsidy,
            )
            rental = Rental.objects.create(
                person=person,
                product=product,
                unit=unit,
                outlet_id=unit.outlet_id,
                centre=centre,
                request_id=data.request_id,
                fitting=fitting,
                start_date=data.start_date,
                end_date=data.end_date,
                injured=data.injured,
                injured_note=data.injured_note,
                delivery_mode=data.delivery_mode,
                delivery_address=data.delivery_address,
                delivery_from=data.delivery_from,
                delivery_to=data.delivery_to,
                created_by=actor,
            )
            try:
                move_unit(
                    unit,
                    to=UnitStatus.RESERVED,
                    expected=[UnitStatus.AVAILABLE],
                    actor=actor,
                    rental=rental,
                    note="预订",
                )
            except Conflict:
                raise Conflict({"unit": [UNIT_NOT_AVAILABLE]}) from None
            rental.number = f"ZL{data.start_date:%Y}{rental.pk:06d}"
            Rental.objects.filter(pk=rental.pk).update(number=rental.number)
            book(rental, lines, actor=actor, on=today)
            if data.request_id:
                advance(
                    RentalRequest.objects.filter(pk=data.request_id, centre=centre),
                    expected=RequestStatus.NEW,
                    message=REQUEST_DONE,
                    status=RequestStatus.HANDLED,
                    handled_by=actor,
                    handled_at=timezone.now(),
                )
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=rental,
                person_id=person.pk,
                summary=f"{person.name} 租用 {product}（{unit.serial}），{data.start_date} 至 {data.end_date}",
                changes={"payable": str(rules.rent_payable(lines))},
            )
    except IntegrityError:
        # The open-rental index: another clerk's rental of this unit committed first.
        raise Conflict({"unit": [UNIT_NOT_AVAILABLE]}) from None
    return rental


def _advance(
    rental: Rental,
    *,
    actor: User,
    expected: str,
    error: str,
    unit_from: str,
    unit_to: str,
    note: str,
    summary: str,
    **updates,
) -> None:
    """Move a rental on from `expected` (and its unit with it) only if nobody moved it first."""
    advance(Rental.objects.filter(pk=rental.pk), expected=expected, message=error, **updates)
    move_unit(rental.unit, to=unit_to, expected=[unit_from], actor=actor, rental=rental, note=note)
    audit.record(
        actor=actor, action=AuditAction.UPDATE, obj=rental, person_id=rental.person_id, summary=summary
    )


def rental_handover(
    *, actor: User, rental: Rental, handed_over_at: dt.datetime | None = None, training_content: str
) -> Rental:
    """Hand the unit over (at the outlet, or delivered and set up at home) with usage training."""
    check_same_centre(actor, rental.centre_id)
    if not training_content.strip():
        raise ValidationError({"training_content": ["请填写使用培训内容（如操作方法、安全注意事项）。"]})
    when = handed_over_at or timezone.now()
    if when > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"handed_over_at": [FUTURE]})
    # Handed over before the reserved start, the term begins that day (a device the renter holds
    # before its rental starts could be returned on no day at all); the bill does not change.
    start, end = rules.period_from(rental.start_date, rental.end_date, timezone.localtime(when).date())
    moved = f"，租期提前为 {start} 至 {end}" if start != rental.start_date else ""
    with transaction.atomic():
        _advance(
            rental,
            actor=actor,
            expected=RentalStatus.RESERVED,
            error=RENTAL_NOT_RESERVED,
            unit_from=UnitStatus.RESERVED,
            unit_to=UnitStatus.RENTED,
            note="交付",
            summary=f"租赁 {rental.number} 已交付并完成使用培训{moved}",
            status=RentalStatus.ACTIVE,
            handed_over_at=when,
            trainer=actor,
            training_content=training_content,
            start_date=start,
            end_date=end,
        )
        events.record(
            kind="devices.rental.started",
            subject=rental,
            district=rental.person.district_id,
            payload={
                "number": rental.number,
                "person": rental.person_id,
                "start_date": start,
                "end_date": end,
            },
        )
    rental.refresh_from_db()
    return rental


def rental_cancel(*, actor: User, rental: Rental, reason: str) -> Rental:
    """Cancel before hand-over: the bill is reversed and the unit, never used, is available again."""
    check_same_centre(actor, rental.centre_id)
    with transaction.atomic():
        _advance(
            rental,
            actor=actor,
            expected=RentalStatus.RESERVED,
            error=RENTAL_NOT_RESERVED,
            unit_from=UnitStatus.RESERVED,
            unit_to=UnitStatus.AVAILABLE,
            note="取消预订",
            summary=f"取消租赁 {rental.number}：{reason}",
            status=RentalStatus.CANCELLED,
        )
        totals = rental.charges.values("kind").annotate(total=Sum("amount"))
        reversal = [
            rules.Line(row["kind"], -row["total"], f"取消租赁：冲销{ChargeKind(row['kind']).label}")
            for row in totals
            if row["total"]
        ]
        book(rental, reversal, actor=actor, on=local_today())
    rental.refresh_from_db()
    return rental


def _reprice(rental: Rental, *, new_end: dt.date, actor: User, on: dt.date, why: str) -> None:
    """Price the whole rental again over its new period and book only the differences, so a rental
    extended or ended early costs what one rental of that length costs."""
    lines = quote(
        person=rental.person,
        product=rental.product,
        start=rental.start_date,
        end=new_end,
        injured=rental.injured,
        exclude=rental,
    )
    booked = {
        row["kind"]: row["total"] for row in rental.charges.values("kind").annotate(total=Sum("amount"))
    }
    deltas = []
    for line in lines:
        if line.kind == rules.DEPOSIT:
            continue
        delta = rules.money(line.amount - (booked.get(line.kind) or rules.ZERO))
        if delta:
            deltas.append(rules.Line(line.kind, delta, f"{why}，按新租期重新计价：{line.explanation}"))
    for kind in (rules.SUBSIDY, rules.DISCOUNT):
        if booked.get(kind) and kind not in {line.kind for line in lines}:
            deltas.append(
                rules.Line(kind, -booked[kind], f"{why}，按新租期重新计价：不再享受{ChargeKind(kind).label}")
            )
    book(rental, deltas, actor=actor, on=on)


def rental_extend(*, actor: User, rental: Rental, new_end: dt.date) -> Rental:
    check_same_centre(actor, rental.centre_id)
    if new_end <= rental.end_date:
        raise ValidationError({"new_end": [EXTEND_NOT_LATER.format(end=rental.end_date)]})
    _check_period(rental.start_date, new_end)
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=rental.person_id).first()
        # The end date the clerk saw must still be the rental's, so two extensions do not stack.
        advance(
            Rental.objects.filter(pk=rental.pk, end_date=rental.end_date),
            expected=RentalStatus.ACTIVE,
            message=RENTAL_CHANGED,
            end_date=new_end,
        )
        _reprice(rental, new_end=new_end, actor=actor, on=local_today(), why=f"续租至 {new_end}")
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=rental,
            person_id=rental.person_id,
            summary=f"租赁 {rental.number} 续租至 {new_end}",
            changes={"end_date": [str(rental.end_date), str(new_end)]},
        )
    rental.refresh_from_db()
    return rental


def rental_return(
    *,
    actor: User,
    rental: Rental,
    returned_on: dt.date,
    condition: str,
    damage_note: str = "",
    damage_charge: Decimal = rules.ZERO,
) -> Rental:
    """Take a unit back: inspection, early-return re-pricing or overdue fee, damage, deposit refund.
    The unit waits for cleaning and disinfection before it can go out again."""
    check_same_centre(actor, rental.centre_id)
    if rental.status != RentalStatus.ACTIVE:
        raise ValidationError(RENTAL_NOT_OPEN)
    if returned_on > local_today():
        raise ValidationError({"returned_on": [FUTURE]})
    if returned_on < rental.start_date:
        raise ValidationError({"returned_on": [RETURN_BEFORE_START.format(start=rental.start_date)]})
    if damage_charge < 0:
        raise ValidationError({"damage_charge": [NEGATIVE_MONEY]})
    if damage_charge > rental.product.replacement_value:
        raise ValidationError(
            {"damage_charge": [DAMAGE_TOO_HIGH.format(value=rules.yuan(rental.product.replacement_value))]}
        )
    if condition == ReturnCondition.DAMAGED and not damage_note.strip():
        raise ValidationError({"damage_note": [DAMAGE_NEEDS_NOTE]})
    policy = rules_policy(policy_of(rental.centre))
    with transaction.atomic():
        _advance(
            rental,
            actor=actor,
            expected=RentalStatus.ACTIVE,
            error=RENTAL_NOT_OPEN,
            unit_from=UnitStatus.RENTED,
            unit_to=UnitStatus.RETURNED,
            note=f"归还：{ReturnCondition(condition).label}",
            summary=f"租赁 {rental.number} 归还验收：{ReturnCondition(condition).label}",
            status=RentalStatus.RETURNED,
            returned_on=returned_on,
        )
        ReturnInspection.objects.create(
            rental=rental,
            returned_on=returned_on,
            condition=condition,
            damage_note=damage_note,
            damage_charge=damage_charge,
            inspector=actor,
        )
        lines: list[rules.Line] = []
        if returned_on < rental.end_date:
            _reprice(
                rental, new_end=returned_on, actor=actor, on=returned_on, why=f"提前于 {returned_on} 归还"
            )
        elif returned_on > rental.end_date:
            lines.append(
                rules.overdue_fee(
                    per_day=rental.product.rent_per_day,
                    days=(returned_on - rental.end_date).days,
                    policy=policy,
                )
            )
        if damage_charge:
            lines.append(
                rules.Line(ChargeKind.DAMAGE, rules.money(damage_charge), f"损坏赔偿：{damage_note}")
            )
        held = rental.charges.filter(kind__in=[ChargeKind.DEPOSIT, ChargeKind.DEPOSIT_REFUND]).aggregate(
            total=Sum("amount")
        )["total"]
        if held:
            lines.append(rules.Line(ChargeKind.DEPOSIT_REFUND, -held, f"退还押金 {rules.yuan(held)} 元"))
        book(rental, lines, actor=actor, on=returned_on)
        events.record(
            kind="devices.rental.returned",
            subject=rental,
            district=rental.person.district_id,
            payload={
                "number": rental.number,
                "person": rental.person_id,
                "returned_on": returned_on,
                "condition": condition,
            },
        )
    rental.refresh_from_db()
    return rental
