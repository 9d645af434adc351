"""Every write of the rental business. One service, one transaction, one audit row.

A unit moves through its lifecycle only by conditional updates (`status` must still be what the
service expects), so two clerks acting on one unit at once cannot both succeed; the database adds a
partial unique index that allows one open rental per unit.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.ids import normalize_id_number, normalize_phone
from kangfu.core.models import AuditAction, Organisation, OrganisationKind, RegionLevel, User
from kangfu.core.months import add_months_to_day
from kangfu.devices import rules
from kangfu.devices.models import (
    DISINFECTION_STEPS,
    PRODUCT_FIELDS,
    Category,
    Charge,
    ChargeKind,
    DeliveryMode,
    Disinfection,
    Fitting,
    PricingPolicy,
    Product,
    ProductPhoto,
    Rental,
    RentalRequest,
    RentalStatus,
    RequestStatus,
    ReturnCondition,
    ReturnInspection,
    Unit,
    UnitEvent,
    UnitStatus,
)
from kangfu.people.models import CertificateStatus, IncomePeriod, IncomeStatus, Person
from kangfu.people.services import id_hash

UNIT_NOT_AVAILABLE = "该设备当前不可出租（可能刚被他人租出，或尚未完成清洗消毒）。请选择其他设备。"
UNIT_WRONG_OUTLET = "该设备不在所选网点。"
NOT_CLEANED = "该设备尚未通过清洗消毒，不能出租。"
NEEDS_FITTING = "首次租用“{category}”类辅具，须先完成适配评估。"
FITTING_UNSUITABLE = "最近一次适配评估结论为不适合租用“{category}”类辅具。"
BAD_PERIOD = "到期日期不能早于起租日期。"
PERIOD_TOO_LONG = "单次租期最长 {months} 个月，到期可续租。"
START_TOO_EARLY = "起租日期不能早于今天 {days} 天以上。"
SUBSIDY_OVER_CAP = "补贴超出年度上限：本年度剩余额度 {remaining} 元，本次最多可补贴 {allowed} 元。"
NEGATIVE_MONEY = "金额不能为负数。"
RENTAL_NOT_OPEN = "该租赁不在租用中，不能办理归还。"
RENTAL_NOT_RESERVED = "该租赁不是待交付状态。"
EXTEND_NOT_LATER = "续租后的到期日期应晚于原到期日期 {end}。"
RETURN_BEFORE_START = "归还日期不能早于起租日期 {start}。"
FUTURE = "日期不能晚于今天。"
DAMAGE_TOO_HIGH = "损坏赔偿不能超过设备重置价值 {value} 元。"
DAMAGE_NEEDS_NOTE = "验收为损坏时，请填写损坏情况。"
STEPS_MISSING = "清洗消毒未完成以下步骤，不能判定合格：{steps}。"
FINISH_BEFORE_START = "完成时间不能早于开始时间。"
NOT_WAITING_FOR_CLEANING = "只有已归还、清洗消毒中或维修后的设备才能登记清洗消毒。"
FORBIDDEN_MOVE = "设备状态不能从“{old}”改为“{new}”。"
MOVE_BUSY = "已预订或租出的设备不能调拨。"
DUPLICATE_SERIAL = "设备编号已存在：{serials}。"
REQUEST_DONE = "该申请已处理。"
NOT_A_CENTRE_CLERK = "您不是辅具租赁中心的工作人员。"
DELIVERY_WINDOW = "送货时段的结束时间应晚于开始时间。"
DELIVERY_ADDRESS = "送货上门须填写送货地址。"
DELIVERY_AFTER_END = "送货时间不能晚于租期结束。"

MAX_MONTHS = 12
INCOME_STATUSES_FOR_SUBSIDY = (IncomeStatus.DIBAO, IncomeStatus.DIBAO_EDGE, IncomeStatus.TEKUN)

# Moves a clerk may make by hand; the rental and disinfection services make the others.
MANUAL_MOVES = {
    UnitStatus.AVAILABLE: {UnitStatus.REPAIR, UnitStatus.RETIRED},
    UnitStatus.RETURNED: {UnitStatus.REPAIR, UnitStatus.RETIRED},
    UnitStatus.CLEANING: {UnitStatus.REPAIR, UnitStatus.RETIRED},
    UnitStatus.REPAIR: {UnitStatus.CLEANING, UnitStatus.RETIRED},
}


def _today() -> dt.date:
    return timezone.localdate()


def require_centre(actor: User) -> Organisation:
    centre = access.device_centre(actor)
    if centre is None:
        raise PermissionDenied(NOT_A_CENTRE_CLERK)
    return centre


def _check_same_centre(actor: User | None, centre_id: int) -> None:
    if actor is None:
        return
    if require_centre(actor).pk != centre_id:
        raise PermissionDenied(access.NOT_ALLOWED)


def policy_of(centre: Organisation) -> PricingPolicy:
    found, _ = PricingPolicy.objects.get_or_create(centre=centre)
    return found


def rules_policy(policy: PricingPolicy) -> rules.Policy:
    return rules.Policy(
        subsidy_mode=policy.subsidy_mode,
        subsidy_share=policy.subsidy_share,
        subsidy_amount_per_month=policy.subsidy_amount_per_month,
        subsidy_cap_per_year=policy.subsidy_cap_per_year,
        elderly_age=policy.elderly_age,
        elderly_discount_share=policy.elderly_discount_share,
        injured_discount_share=policy.injured_discount_share,
        waive_deposit_for_subsidised=policy.waive_deposit_for_subsidised,
        overdue_fee_multiplier=policy.overdue_fee_multiplier,
    )


# ---------------------------------------------------------------- catalogue and units


def category_save(
    *, actor: User, category: Category | None, code: str, name: str, description: str = ""
) -> Category:
    require_centre(actor)
    with transaction.atomic():
        if category is None:
            if Category.objects.filter(code=code).exists():
                raise ValidationError({"code": ["该分类代码已存在。"]})
            category = Category.objects.create(code=code, name=name, description=description)
            action = AuditAction.CREATE
        else:
            Category.objects.filter(pk=category.pk).update(name=name, description=description)
            action = AuditAction.UPDATE
        audit.record(actor=actor, action=action, obj=category, summary=f"辅具分类 {code} {name}")
    return category


def product_save(*, actor: User, product: Product | None, values: dict) -> Product:
    """Create or change a product of the actor's centre. Prices are never negative."""
    centre = require_centre(actor)
    for field in ("rent_per_day", "rent_per_month", "deposit", "replacement_value"):
        if values.get(field) is not None and values[field] < 0:
            raise ValidationError({field: [NEGATIVE_MONEY]})
    with transaction.atomic():
        if product is None:
            product = Product.objects.create(centre=centre, **values)
            audit.record(
                actor=actor, action=AuditAction.CREATE, obj=product, summary=f"新增辅具产品 {product}"
            )
        else:
            _check_same_centre(actor, product.centre_id)
            before = {f: getattr(product, f) for f in PRODUCT_FIELDS}
            for field, value in values.items():
                setattr(product, field, value)
            product.save()
            audit.record(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=product,
                summary=f"修改辅具产品 {product}",
                changes=audit.diff(before, {f: getattr(product, f) for f in PRODUCT_FIELDS}),
            )
    return product


def product_photo_add(*, actor: User, product: Product, image, caption: str = "") -> ProductPhoto:
    _check_same_centre(actor, product.centre_id)
    with transaction.atomic():
        photo = ProductPhoto.objects.create(product=product, image=image, caption=caption)
        audit.record(actor=actor, action=AuditAction.CREATE, obj=photo, summary=f"上传 {product} 的照片")
    return photo


def units_add(
    *,
    actor: User | None,
    product: Product,
    outlet: Organisation,
    serials: Iterable[str],
    acquired_on: dt.date,
) -> list[Unit]:
    """Put new units into stock at an outlet of the product's centre."""
    _check_same_centre(actor, product.centre_id)
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


def _move(
    unit: Unit,
    *,
    to: str,
    expected: Iterable[str],
    actor: User | None,
    rental: Rental | None = None,
    note: str = "",
) -> None:
    """Change a unit's status only if it is still in one of the expected states."""
    expected = list(expected)
    changed = Unit.objects.filter(pk=unit.pk, status__in=expected).update(
        status=to, status_changed_at=timezone.now()
    )
    if changed != 1:
        current = Unit.objects.filter(pk=unit.pk).values_list("status", flat=True).first()
        if to == UnitStatus.RESERVED:
            raise ValidationError({"unit": [UNIT_NOT_AVAILABLE]})
        raise ValidationError(FORBIDDEN_MOVE.format(old=UnitStatus(current).label, new=UnitStatus(to).label))
    UnitEvent.objects.create(
        unit=unit, actor=actor, from_status=unit.status, to_status=to, rental=rental, note=note
    )
    unit.status = to


def unit_set_status(*, actor: User, unit: Unit, to: str, note: str = "") -> Unit:
    """A clerk's own move: to repair, back from repair to cleaning, or retired."""
    _check_same_centre(actor, unit.product.centre_id)
    allowed = MANUAL_MOVES.get(UnitStatus(unit.status), set())
    if to not in allowed:
        raise ValidationError(
            FORBIDDEN_MOVE.format(old=UnitStatus(unit.status).label, new=UnitStatus(to).label)
        )
    with transaction.atomic():
        _move(unit, to=to, expected=[unit.status], actor=actor, note=note)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=unit,
            summary=f"设备 {unit.serial} 改为{UnitStatus(to).label}",
        )
    return unit


def unit_transfer(*, actor: User, unit: Unit, to_outlet: Organisation, note: str = "") -> Unit:
    """Move a unit to another outlet of the same centre; not while it is reserved or out."""
    _check_same_centre(actor, unit.product.centre_id)
    if to_outlet.pk != unit.product.centre_id and to_outlet.parent_id != unit.product.centre_id:
        raise ValidationError({"outlet": ["网点不属于该租赁中心。"]})
    with transaction.atomic():
        changed = (
            Unit.objects.filter(pk=unit.pk)
            .exclude(status__in=[UnitStatus.RESERVED, UnitStatus.RENTED])
            .update(outlet=to_outlet)
        )
        if changed != 1:
            raise ValidationError(MOVE_BUSY)
        UnitEvent.objects.create(
            unit=unit, actor=actor, from_outlet_id=unit.outlet_id, to_outlet=to_outlet, note=note or "调拨"
        )
        audit.record(
            actor=actor, action=AuditAction.UPDATE, obj=unit, summary=f"设备 {unit.serial} 调拨至 {to_outlet}"
        )
    unit.outlet = to_outlet
    return unit


# ---------------------------------------------------------------- requests from citizens


@dataclass(frozen=True)
class RequestData:
    product_id: int
    outlet_id: int
    name: str
    id_number: str
    phone: str
    address: str
    desired_start: dt.date
    months: int = 1
    wants_delivery: bool = False
    note: str = ""


def request_submit(*, data: RequestData) -> RentalRequest:
    """A citizen's online request; answered with an acknowledgement number."""
    errors: dict[str, list[str]] = {}
    product = Product.objects.filter(pk=data.product_id, is_active=True).select_related("centre").first()
    if product is None:
        raise ValidationError({"product": ["该产品暂不出租。"]})
    outlet = Organisation.objects.filter(
        Q(pk=product.centre_id) | Q(parent_id=product.centre_id, kind=OrganisationKind.DEVICE_OUTLET),
        pk=data.outlet_id,
        is_active=True,
    ).first()
    if outlet is None:
        errors["outlet"] = ["请选择提供该产品的网点。"]
    number = ""
    try:
        number = normalize_id_number(data.id_number, today=_today()).number
    except ValidationError as exc:
        errors["id_number"] = exc.messages
    try:
        phone = normalize_phone(data.phone)
        if not phone:
            errors["phone"] = ["请填写联系电话，工作人员将与您联系。"]
    except ValidationError as exc:
        errors["phone"] = exc.messages
        phone = ""
    if not data.name.strip():
        errors["name"] = ["请填写姓名。"]
    if data.desired_start < _today():
        errors["desired_start"] = ["希望开始日期不能早于今天。"]
    if not 1 <= data.months <= MAX_MONTHS:
        errors["months"] = [f"租用月数应在 1 至 {MAX_MONTHS} 之间。"]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        request = RentalRequest.objects.create(
            reference=secrets.token_hex(9),  # replaced below by one derived from the row's id
            centre=product.centre,
            outlet=outlet,
            product=product,
            name=data.name.strip(),
            id_number=number,
            id_number_hash=id_hash(number),
            phone=phone,
            address=data.address.strip(),
            wants_delivery=data.wants_delivery,
            desired_start=data.desired_start,
            months=data.months,
            note=data.note,
        )
        request.reference = f"FJ{timezone.localdate():%Y%m%d}{request.pk:05d}"
        RentalRequest.objects.filter(pk=request.pk).update(reference=request.reference)
        audit.record(
            actor=None,
            action=AuditAction.CREATE,
            obj=request,
            summary=f"市民在线申请租赁 {product}（{request.reference}）",
        )
    return request


def request_decline(*, actor: User, request: RentalRequest, reason: str) -> RentalRequest:
    _check_same_centre(actor, request.centre_id)
    with transaction.atomic():
        changed = RentalRequest.objects.filter(pk=request.pk, status=RequestStatus.NEW).update(
            status=RequestStatus.DECLINED, decline_reason=reason, handled_by=actor, handled_at=timezone.now()
        )
        if changed != 1:
            raise ValidationError(REQUEST_DONE)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=request,
            summary=f"租赁申请 {request.reference} 未受理：{reason}",
        )
    request.refresh_from_db()
    return request


# ---------------------------------------------------------------- fitting


def fitting_record(*, actor: User, person: Person, category: Category, values: dict) -> Fitting:
    centre = require_centre(actor)
    if values.get("assessed_on") and values["assessed_on"] > _today():
        raise ValidationError({"assessed_on": [FUTURE]})
    with transaction.atomic():
        fitting = Fitting.objects.create(
            person=person, category=category, centre=centre, assessor=actor, **values
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=fitting,
            person_id=person.pk,
            summary=f"{person.name} 的适配评估（{category.name}）：{'适合' if fitting.suitable else '不适合'}",
        )
    return fitting


def fitting_needed(*, person: Person, product: Product) -> tuple[bool, Fitting | None]:
    """Whether renting `product` needs a fitting first, and the fitting that covers it if any.

    A fitting is needed the first time a person rents a product class that asks for one; the latest
    fitting of that class counts, and one that found the class unsuitable blocks the rental."""
    latest = (
        Fitting.objects.filter(person=person, category_id=product.category_id)
        .order_by("-assessed_on", "-id")
        .first()
    )
    if not product.needs_fitting:
        return False, latest
    rented_before = Rental.objects.filter(
        person=person,
        product__category_id=product.category_id,
        status__in=[RentalStatus.ACTIVE, RentalStatus.RETURNED],
    ).exists()
    return (latest is None and not rented_before), latest


# ---------------------------------------------------------------- pricing


def subsidy_used(*, person: Person, year: int, exclude: Rental | None = None) -> Decimal:
    """Subsidy a person has had for rentals starting in `year` (the cap is per rental year)."""
    rows = Charge.objects.filter(
        kind=ChargeKind.SUBSIDY, rental__person=person, rental__start_date__year=year
    )
    if exclude is not None:
        rows = rows.exclude(rental=exclude)
    return -(rows.aggregate(total=Sum("amount"))["total"] or rules.ZERO)


def pricing_facts(
    *, person: Person, centre: Organisation, on: dt.date, injured: bool, exclude: Rental | None = None
) -> rules.Facts:
    valid_cert = (
        person.certificates.filter(status=CertificateStatus.VALID)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=on))
        .exists()
    )
    poor = (
        IncomePeriod.objects.filter(person=person, status__in=INCOME_STATUSES_FOR_SUBSIDY, start_date__lte=on)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
        .exists()
    )
    city = centre.region.ancestor(RegionLevel.CITY)[:4]
    return rules.Facts(
        poor_disabled=valid_cert and poor,
        age=person.age_on(on),
        local=bool(person.hukou_region_id) and person.hukou_region_id.startswith(city),
        injured=injured,
        subsidy_used_this_year=subsidy_used(person=person, year=on.year, exclude=exclude),
    )


def quote(
    *,
    person: Person,
    product: Product,
    start: dt.date,
    end: dt.date,
    injured: bool = False,
    subsidy_limit: Decimal | None = None,
    exclude: Rental | None = None,
) -> list[rules.Line]:
    """The bill the rules give for renting `product` to `person` over a period, without saving."""
    if end < start:
        raise ValidationError({"end_date": [BAD_PERIOD]})
    policy = policy_of(product.centre)
    facts = pricing_facts(person=person, centre=product.centre, on=start, injured=injured, exclude=exclude)

    def price_with(limit: Decimal | None) -> list[rules.Line]:
        return rules.price(
            per_day=product.rent_per_day,
            per_month=product.rent_per_month,
            deposit=product.deposit,
            start=start,
            end=end,
            facts=facts,
            policy=rules_policy(policy),
            subsidy_limit=limit,
        )

    lines = price_with(None)
    allowed = next((-line.amount for line in lines if line.kind == rules.SUBSIDY), rules.ZERO)
    if subsidy_limit is None:
        return lines
    if subsidy_limit < 0:
        raise ValidationError({"subsidy": [NEGATIVE_MONEY]})
    if subsidy_limit > allowed:
        remaining = max(rules.ZERO, policy.subsidy_cap_per_year - facts.subsidy_used_this_year)
        raise ValidationError(
            {
                "subsidy": [
                    SUBSIDY_OVER_CAP.format(remaining=rules.yuan(remaining), allowed=rules.yuan(allowed))
                ]
            }
        )
    return price_with(subsidy_limit)


def _book(rental: Rental, lines: Iterable[rules.Line], *, actor: User | None, on: dt.date) -> None:
    Charge.objects.bulk_create(
        [
            Charge(
                rental=rental,
                kind=line.kind,
                amount=line.amount,
                explanation=line.explanation[:300],
                booked_on=on,
                actor=actor,
            )
            for line in lines
        ]
    )


def bill(rental: Rental) -> dict:
    """The charges of a rental and its two totals: rent payable and deposit held."""
    charges = list(rental.charges.all())
    rent_total = sum(
        (c.amount for c in charges if c.kind not in (ChargeKind.DEPOSIT, ChargeKind.DEPOSIT_REFUND)),
        rules.ZERO,
    )
    deposit_total = sum(
        (c.amount for c in charges if c.kind in (ChargeKind.DEPOSIT, ChargeKind.DEPOSIT_REFUND)), rules.ZERO
    )
    return {
        "charges": charges,
        "rent_total": rules.money(rent_total),
        "deposit_held": rules.money(deposit_total),
    }


# ---------------------------------------------------------------- rentals


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
    unit at once succeeds: the unit is taken by a conditional update, and the open-rental index
    refuses a second open rental whatever happens."""
    centre = require_centre(actor)
    today = today or _today()
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
            _move(
                unit,
                to=UnitStatus.RESERVED,
                expected=[UnitStatus.AVAILABLE],
                actor=actor,
                rental=rental,
                note="预订",
            )
            rental.number = f"ZL{data.start_date:%Y}{rental.pk:06d}"
            Rental.objects.filter(pk=rental.pk).update(number=rental.number)
            _book(rental, lines, actor=actor, on=today)
            if data.request_id:
                RentalRequest.objects.filter(pk=data.request_id, status=RequestStatus.NEW).update(
                    status=RequestStatus.HANDLED, handled_by=actor, handled_at=timezone.now()
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
        raise ValidationError({"unit": [UNIT_NOT_AVAILABLE]}) from None
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
    if Rental.objects.filter(pk=rental.pk, status=expected).update(**updates) != 1:
        raise ValidationError(error)
    _move(rental.unit, to=unit_to, expected=[unit_from], actor=actor, rental=rental, note=note)
    audit.record(
        actor=actor, action=AuditAction.UPDATE, obj=rental, person_id=rental.person_id, summary=summary
    )


def rental_handover(
    *, actor: User, rental: Rental, handed_over_at: dt.datetime | None = None, training_content: str
) -> Rental:
    """Hand the unit over (at the outlet, or delivered and set up at home) with usage training."""
    _check_same_centre(actor, rental.centre_id)
    if not training_content.strip():
        raise ValidationError({"training_content": ["请填写使用培训内容（如操作方法、安全注意事项）。"]})
    when = handed_over_at or timezone.now()
    if when > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"handed_over_at": [FUTURE]})
    with transaction.atomic():
        _advance(
            rental,
            actor=actor,
            expected=RentalStatus.RESERVED,
            error=RENTAL_NOT_RESERVED,
            unit_from=UnitStatus.RESERVED,
            unit_to=UnitStatus.RENTED,
            note="交付",
            summary=f"租赁 {rental.number} 已交付并完成使用培训",
            status=RentalStatus.ACTIVE,
            handed_over_at=when,
            trainer=actor,
            training_content=training_content,
        )
    rental.refresh_from_db()
    return rental


def rental_cancel(*, actor: User, rental: Rental, reason: str) -> Rental:
    """Cancel before hand-over: the bill is reversed and the unit, never used, is available again."""
    _check_same_centre(actor, rental.centre_id)
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
        _book(rental, reversal, actor=actor, on=_today())
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
    _book(rental, deltas, actor=actor, on=on)


def rental_extend(*, actor: User, rental: Rental, new_end: dt.date) -> Rental:
    _check_same_centre(actor, rental.centre_id)
    if new_end <= rental.end_date:
        raise ValidationError({"new_end": [EXTEND_NOT_LATER.format(end=rental.end_date)]})
    _check_period(rental.start_date, new_end)
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=rental.person_id).first()
        changed = Rental.objects.filter(
            pk=rental.pk, status=RentalStatus.ACTIVE, end_date=rental.end_date
        ).update(end_date=new_end)
        if changed != 1:
            raise ValidationError("该租赁不在租用中，或刚被他人修改，不能续租。")
        _reprice(rental, new_end=new_end, actor=actor, on=_today(), why=f"续租至 {new_end}")
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
    _check_same_centre(actor, rental.centre_id)
    if rental.status != RentalStatus.ACTIVE:
        raise ValidationError(RENTAL_NOT_OPEN)
    if returned_on > _today():
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
        _book(rental, lines, actor=actor, on=returned_on)
    rental.refresh_from_db()
    return rental


# ---------------------------------------------------------------- disinfection


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
    _check_same_centre(actor, unit.product.centre_id)
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
            _move(
                unit, to=UnitStatus.CLEANING, expected=[UnitStatus.RETURNED], actor=actor, note="开始清洗消毒"
            )
        if passed:
            _move(
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
