"""Rental requests citizens send from the public catalogue, and a centre's answer to them."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kangfu.core import audit
from kangfu.core.ids import normalize_id_number, normalize_phone
from kangfu.core.models import AuditAction, Organisation, OrganisationKind, User
from kangfu.core.transitions import advance
from kangfu.devices.models import Product, RentalRequest, RequestStatus
from kangfu.devices.services.common import MAX_MONTHS, check_same_centre, local_today
from kangfu.people.services import id_hash

REQUEST_DONE = "该申请已处理。"
TOO_LONG = "{label}不能超过 {limit} 个字。"
# What a citizen may type, bounded here as well as on the form, so the API cannot store a megabyte
# of note either (name and address are bounded by their columns too).
LIMITS = {"name": ("姓名", 50), "address": ("住址", 200), "note": ("情况说明", 500)}


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
        number = normalize_id_number(data.id_number, today=local_today()).number
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
    for field, (label, limit) in LIMITS.items():
        if len(getattr(data, field).strip()) > limit:
            errors[field] = [TOO_LONG.format(label=label, limit=limit)]
    if data.desired_start < local_today():
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
            note=data.note.strip(),
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
    check_same_centre(actor, request.centre_id)
    with transaction.atomic():
        advance(
            RentalRequest.objects.filter(pk=request.pk),
            expected=RequestStatus.NEW,
            message=REQUEST_DONE,
            status=RequestStatus.DECLINED,
            decline_reason=reason,
            handled_by=actor,
            handled_at=timezone.now(),
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=request,
            summary=f"租赁申请 {request.reference} 未受理：{reason}",
        )
    request.refresh_from_db()
    return request
