"""Referrals between institutions (转介): hospital to community, relapse to hospital, to employment and
back, between institutions; sent, answered, and completed, which closes the sender's file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Organisation, OrganisationKind, User
from kangfu.core.workdays import add_working_days
from kangfu.people.models import Person
from kangfu.rehab.models import (
    OPEN_CASE_STATES,
    SERVED_STATES,
    Case,
    DischargeReason,
    EmploymentType,
    SharePart,
    Transfer,
    TransferKind,
    TransferState,
)
from kangfu.rehab.services.cases import _discharge, _open_case
from kangfu.rehab.services.common import (
    NOT_YOUR_CASE,
    REFER_DAYS,
    _advance,
    _district_of,
    _not_future,
    _today,
    require_home,
    require_own_case,
)
from kangfu.rehab.services.counters import count

TRANSFER_NOT_ENROLLED = "接收机构为其建档后，这条转介才算完成（建档时自动完成）。"
TRANSFER_TO_SELF = "不能转介给本机构。"
TRANSFER_WRONG_KIND = "“{kind}”应转给{target}。"
TRANSFER_OPEN = "已有一条发给“{org}”的待接收转介。"
TRANSFER_NEEDS_EMPLOYMENT = "转介就业须选择就业类型。"
TRANSFER_NOT_RECEIVER = "只有接收机构能答复该转介。"
TRANSFER_NOT_SENDER = "只有转出机构能撤回或记录用人单位的答复。"
DECLINE_TRANSFER_REASON = "拒绝转介须说明原因。"
_RECEIVER_KINDS = {
    TransferKind.HOSPITAL_TO_COMMUNITY: (OrganisationKind.REHAB_INSTITUTION,),
    TransferKind.RELAPSE: (OrganisationKind.PSYCHIATRIC_HOSPITAL,),
    TransferKind.TO_EMPLOYMENT: (OrganisationKind.EMPLOYER,),
    TransferKind.EMPLOYMENT_BACK: (OrganisationKind.REHAB_INSTITUTION,),
    TransferKind.BETWEEN_INSTITUTIONS: (OrganisationKind.REHAB_INSTITUTION,),
}
_TARGET_NAMES = {
    OrganisationKind.REHAB_INSTITUTION: "精神障碍社区康复机构",
    OrganisationKind.PSYCHIATRIC_HOSPITAL: "精神卫生医疗机构",
    OrganisationKind.EMPLOYER: "就业单位",
}


@dataclass
class TransferData:
    to_org: Organisation
    kind: str
    reason: str
    shared: list[str]
    sent_on: dt.date
    employment_type: str = ""


def transfer_send(*, actor: User, person: Person, data: TransferData, case: Case | None = None) -> Transfer:
    home = require_home(actor)
    if case is not None:
        require_own_case(actor, case)
        person = case.person
    else:
        # A hospital refers its own patient, named by ID number in the worker's jurisdiction.
        access.get_reachable(Person.objects.all(), actor, pk=person.pk)
    errors: dict[str, str] = {}
    to_org = data.to_org
    if to_org.pk in access.rehab_org_ids(actor):
        errors["to_org"] = TRANSFER_TO_SELF
    elif to_org.kind not in _RECEIVER_KINDS.get(data.kind, ()):
        target = _TARGET_NAMES[_RECEIVER_KINDS[data.kind][0]] if data.kind in _RECEIVER_KINDS else "相应机构"
        errors["to_org"] = TRANSFER_WRONG_KIND.format(
            kind=TransferKind(data.kind).label if data.kind in TransferKind.values else data.kind,
            target=target,
        )
    if data.kind == TransferKind.TO_EMPLOYMENT and data.employment_type not in EmploymentType.values:
        errors["employment_type"] = TRANSFER_NEEDS_EMPLOYMENT
    if not data.reason.strip():
        errors["reason"] = "请写明转介原因。"
    shared = [part for part in data.shared if part in SharePart.values]
    if errors:
        raise ValidationError(errors)
    _not_future(data.sent_on, "sent_on")
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()
        if Transfer.objects.filter(person=person, to_org=to_org, state=TransferState.SENT).exists():
            raise ValidationError(TRANSFER_OPEN.format(org=to_org.name))
        transfer = Transfer.objects.create(
            person=person,
            case=case,
            from_org=home,
            to_org=to_org,
            district_id=_district_of(home),
            kind=data.kind,
            employment_type=data.employment_type if data.kind == TransferKind.TO_EMPLOYMENT else "",
            reason=data.reason[:300],
            shared=shared,
            sent_on=data.sent_on,
            due_on=add_working_days(data.sent_on, REFER_DAYS),
            sent_by=actor,
        )
        count(
            institution_id=home.pk,
            district_id=transfer.district_id,
            day=data.sent_on,
            measure="transfers_sent",
            key=data.kind,
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=transfer,
            person_id=person.pk,
            summary=f"{transfer.get_kind_display()}：转至{to_org.name}，共享：{'、'.join(SharePart(p).label for p in shared) or '无'}",
        )
    return transfer


def _answerable_by(actor: User, transfer: Transfer) -> None:
    """The receiver answers; for an employer, which has no accounts, the sender records its answer."""
    ids = access.rehab_org_ids(actor)
    require_home(actor)
    if transfer.to_org.kind == OrganisationKind.EMPLOYER:
        if transfer.from_org_id not in ids:
            raise PermissionDenied(TRANSFER_NOT_SENDER)
    elif transfer.to_org_id not in ids:
        raise PermissionDenied(TRANSFER_NOT_RECEIVER)


def transfer_accept(*, actor: User, transfer: Transfer, on: dt.date | None = None) -> Transfer:
    _answerable_by(actor, transfer)
    on = on or _today()
    _not_future(on)
    with transaction.atomic():
        _advance(
            Transfer,
            transfer.pk,
            expected=[TransferState.SENT],
            field_name="state",
            state=TransferState.ACCEPTED,
            answered_on=on,
            answered_by=actor,
        )
        transfer.refresh_from_db()
        if transfer.to_org.kind == OrganisationKind.REHAB_INSTITUTION:
            case = Case.objects.filter(
                person=transfer.person, institution=transfer.to_org, status__in=OPEN_CASE_STATES
            ).first()
            if case is None:
                case = _open_case(person=transfer.person, institution=transfer.to_org, on=on, actor=actor)
            Transfer.objects.filter(pk=transfer.pk).update(received_case=case)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=transfer,
            person_id=transfer.person_id,
            summary=f"接收转介（来自{transfer.from_org.name}）",
        )
    transfer.refresh_from_db()
    return transfer


def transfer_decline(*, actor: User, transfer: Transfer, reason: str, on: dt.date | None = None) -> Transfer:
    _answerable_by(actor, transfer)
    if not reason.strip():
        raise ValidationError({"reason": DECLINE_TRANSFER_REASON})
    on = on or _today()
    _not_future(on)
    with transaction.atomic():
        _advance(
            Transfer,
            transfer.pk,
            expected=[TransferState.SENT],
            field_name="state",
            state=TransferState.DECLINED,
            answered_on=on,
            answered_by=actor,
            decline_reason=reason[:300],
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=transfer,
            person_id=transfer.person_id,
            summary=f"拒绝转介：{reason}",
        )
    transfer.refresh_from_db()
    return transfer


def transfer_cancel(*, actor: User, transfer: Transfer) -> Transfer:
    require_home(actor)
    if transfer.from_org_id not in access.rehab_org_ids(actor):
        raise PermissionDenied(TRANSFER_NOT_SENDER)
    with transaction.atomic():
        _advance(
            Transfer,
            transfer.pk,
            expected=[TransferState.SENT],
            field_name="state",
            state=TransferState.CANCELLED,
            answered_on=_today(),
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=transfer,
            person_id=transfer.person_id,
            summary="撤回转介",
        )
    transfer.refresh_from_db()
    return transfer


def transfer_complete(*, actor: User, transfer: Transfer, on: dt.date | None = None) -> Transfer:
    require_home(actor)
    ids = access.rehab_org_ids(actor)
    if transfer.from_org_id not in ids and transfer.to_org_id not in ids:
        raise PermissionDenied(NOT_YOUR_CASE)
    on = on or _today()
    _not_future(on)
    received = transfer.received_case
    if transfer.case_id is not None and received is not None and received.status not in SERVED_STATES:
        # Closing the sender's file before the receiver has taken the person on could leave them
        # served nowhere (the receiver may still find them unsuitable); enrolment completes it.
        raise ValidationError(TRANSFER_NOT_ENROLLED, code="stale")
    return _complete_transfer(actor=actor, transfer=transfer, on=on)


def _complete_transfer(*, actor: User, transfer: Transfer, on: dt.date) -> Transfer:
    with transaction.atomic():
        _advance(
            Transfer,
            transfer.pk,
            expected=[TransferState.ACCEPTED],
            field_name="state",
            state=TransferState.COMPLETED,
            completed_on=on,
        )
        transfer.refresh_from_db()
        sender = transfer.case
        if transfer.received_case_id is not None and sender is not None and sender.status in SERVED_STATES:
            # The person is now served by the receiving institution: the sender's file closes, so that
            # nobody is counted as served twice and no follow-up falls due at both.
            _discharge(
                actor=actor,
                case=sender,
                on=max(on, sender.enrolled_on or on),
                reason=DischargeReason.TRANSFERRED,
                note=f"转介至{transfer.to_org.name}，已完成",
            )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=transfer,
            person_id=transfer.person_id,
            summary="转介完成",
        )
    transfer.refresh_from_db()
    return transfer
