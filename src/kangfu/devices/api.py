"""辅具租赁 endpoints of the REST API: the same selectors, FilterSets, services, masking and audit as the
centre's pages. Only a centre's clerk uses them, and sees their own centre's catalogue, units, rentals
and requests; another centre's row is a 404, as if it did not exist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone
from ninja import Field, Router, Schema, Status

from kangfu.core import access, audit
from kangfu.core.ids import mask_id_number, mask_phone
from kangfu.core.models import AuditAction, User
from kangfu.core.pagination import Limit, Offset, api_page, filtered
from kangfu.devices import selectors
from kangfu.devices.filters import ProductFilter, RentalFilter, RequestFilter, UnitFilter
from kangfu.devices.models import Rental, RentalRequest, RentalStatus, Unit
from kangfu.devices.services import common, pricing
from kangfu.devices.services import rental_requests as request_services
from kangfu.devices.services import rentals as rental_services
from kangfu.people import selectors as people_selectors

router = Router(tags=["辅具租赁"])


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class NamedOut(Schema):
    id: int
    name: str


class ProductOut(Schema):
    id: int
    category_code: str
    category_name: str
    name: str
    model: str
    maker: str
    rent_per_day: Decimal
    rent_per_month: Decimal
    deposit: Decimal
    replacement_value: Decimal
    needs_fitting: bool
    is_active: bool
    units: dict[str, int] = Field(description="各状态的设备台数")


class ProductPage(Schema):
    count: int
    count_capped: bool = Field(description="为真时 count 是上限，实际更多")
    items: list[ProductOut]


class UnitOut(Schema):
    id: int
    serial: str
    product: NamedOut
    category_code: str
    outlet: NamedOut
    status: str
    status_label: str
    status_changed_at: dt.datetime
    acquired_on: dt.date


class UnitEventOut(Schema):
    at: dt.datetime
    from_status: str
    to_status: str
    from_outlet_id: int | None
    to_outlet_id: int | None
    rental_id: int | None
    note: str


class UnitDetailOut(UnitOut):
    events: list[UnitEventOut]


class UnitPage(Schema):
    count: int
    count_capped: bool
    items: list[UnitOut]


class RenterOut(Schema):
    id: int
    name: str
    id_number: str = Field(description="脱敏的身份证号")


class RentalOut(Schema):
    id: int
    number: str | None
    person: RenterOut
    product: NamedOut
    unit_id: int
    unit_serial: str
    outlet: NamedOut
    start_date: dt.date
    end_date: dt.date
    returned_on: dt.date | None
    status: str
    status_label: str
    overdue: bool


class ChargeOut(Schema):
    kind: str
    kind_label: str
    amount: Decimal
    explanation: str
    booked_on: dt.date


class RentalDetailOut(RentalOut):
    delivery_mode: str
    delivery_address: str
    handed_over_at: dt.datetime | None
    request_id: int | None
    charges: list[ChargeOut]
    rent_total: Decimal = Field(description="应付租金（不含押金）")
    deposit_held: Decimal = Field(description="在押押金")


class RentalPage(Schema):
    count: int
    count_capped: bool
    items: list[RentalOut]


class RentalIn(Schema):
    person_id: int
    unit_id: int
    start_date: dt.date
    end_date: dt.date
    injured: bool = False
    injured_note: str = Field("", max_length=200)
    delivery_mode: str = "pickup"
    delivery_address: str = Field("", max_length=200)
    delivery_from: dt.datetime | None = None
    delivery_to: dt.datetime | None = None
    subsidy: Decimal | None = Field(None, description="核定补贴（元）；不填则按政策计算")
    request_id: int | None = Field(None, description="为市民在线申请办理时填写，该申请随之受理")


class HandoverIn(Schema):
    training_content: str
    handed_over_at: dt.datetime | None = None


class ReturnIn(Schema):
    returned_on: dt.date
    condition: str = Field(description="good、worn 或 damaged")
    damage_note: str = Field("", max_length=200)
    damage_charge: Decimal = Decimal("0.00")


class RequestOut(Schema):
    id: int
    reference: str
    name: str
    id_number: str = Field(description="脱敏的身份证号")
    phone: str = Field(description="脱敏的联系电话")
    product: NamedOut
    outlet: NamedOut
    desired_start: dt.date
    months: int
    wants_delivery: bool
    status: str
    decline_reason: str
    created_at: dt.datetime


class RequestPage(Schema):
    count: int
    count_capped: bool
    items: list[RequestOut]


class DeclineIn(Schema):
    reason: str = Field(max_length=200)


def _clerk(user: User) -> None:
    """The pages' gate: a clerk of a rental centre."""
    access.require(user, "runs_devices")
    common.require_centre(user)


def _named(obj) -> dict:
    return {"id": obj.pk, "name": obj.name}


def _unit_out(u: Unit) -> dict:
    return {
        "id": u.pk,
        "serial": u.serial,
        "product": _named(u.product),
        "category_code": u.product.category.code,
        "outlet": _named(u.outlet),
        "status": u.status,
        "status_label": u.get_status_display(),
        "status_changed_at": u.status_changed_at,
        "acquired_on": u.acquired_on,
    }


def _rental_out(r: Rental, today: dt.date) -> dict:
    return {
        "id": r.pk,
        "number": r.number,
        "person": {"id": r.person_id, "name": r.person.name, "id_number": mask_id_number(r.person.id_number)},
        "product": _named(r.product),
        "unit_id": r.unit_id,
        "unit_serial": r.unit.serial,
        "outlet": _named(r.outlet),
        "start_date": r.start_date,
        "end_date": r.end_date,
        "returned_on": r.returned_on,
        "status": r.status,
        "status_label": r.get_status_display(),
        "overdue": r.status == RentalStatus.ACTIVE and r.end_date < today,
    }


def _rental_detail(rental: Rental) -> dict:
    bill = pricing.bill(rental)
    return {
        **_rental_out(rental, timezone.localdate()),
        "delivery_mode": rental.delivery_mode,
        "delivery_address": rental.delivery_address,
        "handed_over_at": rental.handed_over_at,
        "request_id": rental.request_id,
        "charges": [
            {
                "kind": c.kind,
                "kind_label": c.get_kind_display(),
                "amount": c.amount,
                "explanation": c.explanation,
                "booked_on": c.booked_on,
            }
            for c in bill["charges"]
        ],
        "rent_total": bill["rent_total"],
        "deposit_held": bill["deposit_held"],
    }


def _request_out(r: RentalRequest) -> dict:
    return {
        "id": r.pk,
        "reference": r.reference,
        "name": r.name,
        "id_number": mask_id_number(r.id_number),
        "phone": mask_phone(r.phone),
        "product": _named(r.product),
        "outlet": _named(r.outlet),
        "desired_start": r.desired_start,
        "months": r.months,
        "wants_delivery": r.wants_delivery,
        "status": r.status,
        "decline_reason": r.decline_reason,
        "created_at": r.created_at,
    }


@router.get(
    "/catalogue",
    response={200: ProductPage, 400: ErrorOut, 403: ErrorOut},
    summary="产品目录",
    description="本中心的产品及各状态设备台数。查询参数同页面筛选：category（分类 id）、is_active；limit 最多 100，offset 最大 100 万。",
)
def list_catalogue(request, limit: Limit = 20, offset: Offset = 0):
    _clerk(request.user)
    products = selectors.products_for(request.user).order_by("category__code", "name")
    rows = filtered(ProductFilter, request, products)

    def out(page):
        return [
            {
                "id": p.pk,
                "category_code": p.category.code,
                "category_name": p.category.name,
                "name": p.name,
                "model": p.model,
                "maker": p.maker,
                "rent_per_day": p.rent_per_day,
                "rent_per_month": p.rent_per_month,
                "deposit": p.deposit,
                "replacement_value": p.replacement_value,
                "needs_fitting": p.needs_fitting,
                "is_active": p.is_active,
                "units": counts,
            }
            for p, counts in selectors.catalogue_rows(page, user=request.user)
        ]

    return api_page(rows, limit=limit, offset=offset, out=out)


@router.get(
    "/units",
    response={200: UnitPage, 400: ErrorOut, 403: ErrorOut},
    summary="设备列表",
    description="查询参数同页面筛选：q（编号开头或产品名）、status、outlet（网点 id）、product（产品 id）；limit 最多 100，offset 最大 100 万。",
)
def list_units(request, limit: Limit = 20, offset: Offset = 0):
    _clerk(request.user)
    rows = filtered(UnitFilter, request, selectors.units_for(request.user).order_by("serial"))
    return api_page(rows, limit=limit, offset=offset, out=lambda page: [_unit_out(u) for u in page])


@router.get(
    "/units/{int:unit_id}", response={200: UnitDetailOut, 403: ErrorOut, 404: ErrorOut}, summary="设备详情"
)
def get_unit(request, unit_id: int):
    _clerk(request.user)
    unit = selectors.unit_get_for_user(user=request.user, pk=unit_id)
    events = selectors.unit_history(unit)["events"]
    return {
        **_unit_out(unit),
        "events": [
            {
                "at": e.at,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "from_outlet_id": e.from_outlet_id,
                "to_outlet_id": e.to_outlet_id,
                "rental_id": e.rental_id,
                "note": e.note,
            }
            for e in events
        ],
    }


@router.get(
    "/rentals",
    response={200: RentalPage, 400: ErrorOut, 403: ErrorOut},
    summary="租赁列表",
    description="查询参数同页面：view（open 未结束，默认；overdue 逾期；reserved、active、returned、cancelled；all 全部）、person、unit；limit 最多 100，offset 最大 100 万。",
)
def list_rentals(request, limit: Limit = 20, offset: Offset = 0):
    _clerk(request.user)
    rows = filtered(RentalFilter, request, selectors.rentals_for(request.user))
    today = timezone.localdate()
    return api_page(
        rows,
        limit=limit,
        offset=offset,
        out=lambda page: [_rental_out(r, today) for r in page],
        reader=request.user,
        person_of=lambda r: r.person_id,
        summary="读取租赁列表（API）",
    )


@router.get(
    "/rentals/{int:rental_id}",
    response={200: RentalDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="租赁详情（含费用明细）",
)
def get_rental(request, rental_id: int):
    _clerk(request.user)
    rental = selectors.rental_get_for_user(user=request.user, pk=rental_id)
    # A rental names its renter and their bill: who read it through the API is recorded.
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=rental,
        person_id=rental.person_id,
        summary=f"查看租赁 {rental.number}（API）",
    )
    return _rental_detail(rental)


@router.post(
    "/rentals",
    response={201: RentalDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="办理租赁",
    description="与柜台办理相同：适配评估、计价、补贴上限和押金规则都由同一服务判断。设备刚被他人租出时返回 409，不保存。",
)
def create_rental(request, payload: RentalIn):
    _clerk(request.user)
    person = people_selectors.person_get_for_user(user=request.user, pk=payload.person_id)
    if payload.request_id is not None:
        selectors.request_get_for_user(user=request.user, pk=payload.request_id)
    rental = rental_services.rental_create(
        actor=request.user,
        person=person,
        data=rental_services.RentalData(**payload.dict(exclude={"person_id"})),
    )
    return Status(201, _rental_detail(selectors.rental_get_for_user(user=request.user, pk=rental.pk)))


@router.post(
    "/rentals/{int:rental_id}/handover",
    response={200: RentalDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="交付并完成使用培训",
)
def hand_over_rental(request, rental_id: int, payload: HandoverIn):
    _clerk(request.user)
    rental = selectors.rental_get_for_user(user=request.user, pk=rental_id)
    rental_services.rental_handover(
        actor=request.user,
        rental=rental,
        training_content=payload.training_content,
        handed_over_at=payload.handed_over_at,
    )
    return _rental_detail(selectors.rental_get_for_user(user=request.user, pk=rental_id))


@router.post(
    "/rentals/{int:rental_id}/return",
    response={200: RentalDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="归还验收",
    description="提前归还按实际租期重新计价，逾期归还收逾期费，损坏按验收收取赔偿，押金退还。",
)
def return_rental(request, rental_id: int, payload: ReturnIn):
    _clerk(request.user)
    rental = selectors.rental_get_for_user(user=request.user, pk=rental_id)
    rental_services.rental_return(actor=request.user, rental=rental, **payload.dict())
    return _rental_detail(selectors.rental_get_for_user(user=request.user, pk=rental_id))


@router.get(
    "/requests",
    response={200: RequestPage, 400: ErrorOut, 403: ErrorOut},
    summary="市民在线申请",
    description="查询参数同页面：status（new 待处理，默认；handled、declined）；limit 最多 100，offset 最大 100 万。",
)
def list_requests(request, limit: Limit = 20, offset: Offset = 0):
    _clerk(request.user)
    rows = filtered(RequestFilter, request, selectors.requests_for(request.user))
    return api_page(
        rows,
        limit=limit,
        offset=offset,
        out=lambda page: [_request_out(r) for r in page],
        reader=request.user,
        person_of=lambda r: None,  # a citizen's request names someone not registered yet
        summary="读取市民在线申请列表（API）",
    )


@router.post(
    "/requests/{int:request_id}/decline",
    response={200: RequestOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="不予受理",
    description="受理一份申请，就是为它办理租赁（办理租赁时填写 request_id）；不予受理须写明原因。已处理的申请返回 409。",
)
def decline_request(request, request_id: int, payload: DeclineIn):
    _clerk(request.user)
    rental_request = selectors.request_get_for_user(user=request.user, pk=request_id)
    declined = request_services.request_decline(
        actor=request.user, request=rental_request, reason=payload.reason
    )
    return _request_out(declined)
