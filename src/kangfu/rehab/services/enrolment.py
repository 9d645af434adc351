"""From referral to being served: screening contacts and the decision, enrolment (登记建档) with the
rights explained and the agreement signed, the registration form and the intake interview.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from kangfu.core import access, audit, events
from kangfu.core.models import AuditAction, Organisation, User
from kangfu.rehab.models import (
    SERVED_STATES,
    Case,
    CaseStatus,
    DeclineReason,
    Intake,
    ScreeningContact,
    Transfer,
    TransferState,
)
from kangfu.rehab.services.cases import _event
from kangfu.rehab.services.common import (
    FUTURE,
    NOT_SERVED,
    STATE_CHANGED,
    _advance,
    _not_future,
    _today,
    require_own_case,
)
from kangfu.rehab.services.counters import _case_count
from kangfu.rehab.services.transfers import _complete_transfer

SERVED_ELSEWHERE = "{name}正在其他机构接受精康服务，须由该机构结案或转介交接后才能在本机构建档。"
NOT_SCREENED = "须先完成筛查并判定适合社区康复，才能登记建档。"
NEEDS_RIGHTS = "须先告知本人和监护人服务内容、权益和义务，并填写告知日期。"
NEEDS_AGREEMENT = "须签订社区康复服务协议，并填写签订日期和签署人。"
NEEDS_GUARDIAN = "由监护人签署时，须填写监护人姓名。"
DECLINE_NEEDS_REASON = "判定不纳入时，须选择原因。"
WRONG_STATUS = "当前状态为“{status}”，不能进行此操作。"
ONSET_FUTURE = "首次发病年份不能晚于今年（{year}年）。"
ONSET_BEFORE_BIRTH = "首次发病年份不能早于出生年份（{year}年）。"
BEFORE_BIRTH = "日期不能早于本人出生日期 {day}。"


@dataclass
class ContactData:
    contacted_on: dt.date
    mode: str
    reached: bool = True
    person_willing: bool | None = None
    guardian_willing: bool | None = None
    note: str = ""


def screening_contact(*, actor: User, case: Case, data: ContactData) -> ScreeningContact:
    require_own_case(actor, case)
    if case.status not in (CaseStatus.REFERRED, CaseStatus.SCREENED):
        raise ValidationError(WRONG_STATUS.format(status=case.get_status_display()))
    _not_future(data.contacted_on, "contacted_on")
    with transaction.atomic():
        contact = ScreeningContact.objects.create(case=case, by=actor, **data.__dict__)
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=contact,
            person_id=case.person_id,
            summary="精康筛查联系",
        )
    return contact


def screening_decide(
    *, actor: User, case: Case, eligible: bool, on: dt.date, note: str = "", decline_reason: str = ""
) -> Case:
    require_own_case(actor, case)
    _not_future(on)
    if not eligible and decline_reason not in DeclineReason.values:
        # Counted by reason: a reason outside the list would be a counter no report shows.
        raise ValidationError({"decline_reason": DECLINE_NEEDS_REASON})
    status = CaseStatus.SCREENED if eligible else CaseStatus.DECLINED
    with transaction.atomic():
        _advance(
            Case,
            case.pk,
            expected=[CaseStatus.REFERRED],
            status=status,
            eligible=eligible,
            screened_on=on,
            screening_note=note[:300],
            decline_reason="" if eligible else decline_reason,
            version=F("version") + 1,
        )
        case.refresh_from_db()
        _event(case, status, on, actor, note or case.get_decline_reason_display())
        _case_count(case, on, "screened")
        if not eligible:
            _case_count(case, on, "declined", decline_reason)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=case,
            person_id=case.person_id,
            summary="筛查结论：适合社区康复"
            if eligible
            else f"筛查结论：不纳入（{case.get_decline_reason_display()}）",
        )
    return case


REGISTRATION_FIELDS = [
    "diagnosis",
    "diagnosis_code",
    "onset_year",
    "hospitalisations",
    "medication",
    "treating_hospital",
    "living_arrangement",
    "education",
    "marital_status",
    "employment",
    "economic_status",
]


@dataclass
class EnrolmentData:
    enrolled_on: dt.date
    worker: User | None
    rights_explained_on: dt.date | None
    agreement_signed_on: dt.date | None
    agreement_signer: str  # patient / guardian / both
    agreement_guardian: str = ""
    site: Organisation | None = None
    agreement_scan: Any = None
    registration: dict[str, Any] = field(default_factory=dict)


def _registration_errors(case: Case, values: dict[str, Any]) -> dict[str, str]:
    """What on the registration form cannot be true of this person: a first onset before they were
    born or in a year still to come."""
    onset = values.get("onset_year")
    if onset is None:
        return {}
    if onset > _today().year:
        return {"onset_year": ONSET_FUTURE.format(year=_today().year)}
    if onset < case.person.birth_date.year:
        return {"onset_year": ONSET_BEFORE_BIRTH.format(year=case.person.birth_date.year)}
    return {}


def case_enrol(*, actor: User, case: Case, data: EnrolmentData) -> Case:
    """登记建档: the registration form, the rights explained, the agreement signed."""
    require_own_case(actor, case)
    errors: dict[str, str] = {}
    if case.status != CaseStatus.SCREENED or not case.eligible:
        raise ValidationError(NOT_SCREENED)
    if data.rights_explained_on is None:
        errors["rights_explained_on"] = NEEDS_RIGHTS
    if data.agreement_signed_on is None or data.agreement_signer not in ("patient", "guardian", "both"):
        errors["agreement_signed_on"] = NEEDS_AGREEMENT
    if data.agreement_signer in ("guardian", "both") and not data.agreement_guardian.strip():
        errors["agreement_guardian"] = NEEDS_GUARDIAN
    born = case.person.birth_date
    for key in ("enrolled_on", "rights_explained_on", "agreement_signed_on"):
        value = getattr(data, key)
        if value is not None and value > _today():
            errors[key] = FUTURE
        elif value is not None and value < born:
            errors[key] = BEFORE_BIRTH.format(day=born)
    errors.update(_registration_errors(case, data.registration))
    if data.site is not None and data.site.pk not in access.rehab_org_ids(actor):
        errors["site"] = "服务站点须是本机构的站点。"
    if data.worker is not None and access.rehab_home(data.worker) != access.rehab_home(actor):
        errors["worker"] = "责任社工须是本机构的工作人员。"
    if errors:
        raise ValidationError(errors)
    registration = {k: v for k, v in data.registration.items() if k in REGISTRATION_FIELDS}
    with transaction.atomic():
        _hand_over(actor, case, data.enrolled_on)
        try:
            with transaction.atomic():
                _advance(
                    Case,
                    case.pk,
                    expected=[CaseStatus.SCREENED],
                    status=CaseStatus.ENROLLED,
                    enrolled_on=data.enrolled_on,
                    site=data.site,
                    worker=data.worker or actor,
                    rights_explained_on=data.rights_explained_on,
                    agreement_signed_on=data.agreement_signed_on,
                    agreement_signer=data.agreement_signer,
                    agreement_guardian=data.agreement_guardian.strip(),
                    next_follow_up_on=data.enrolled_on + dt.timedelta(days=14),
                    version=F("version") + 1,
                    **registration,
                )
        except IntegrityError:
            raise ValidationError(SERVED_ELSEWHERE.format(name=case.person.name), code="duplicate") from None
        case.refresh_from_db()
        if data.agreement_scan is not None:
            case.agreement_scan.save(data.agreement_scan.name, data.agreement_scan, save=True)
        _event(case, CaseStatus.ENROLLED, data.enrolled_on, actor, "签订服务协议")
        _case_count(case, data.enrolled_on, "enrolled")
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=case,
            person_id=case.person_id,
            summary="精康登记建档，签订服务协议",
        )
        events.record(
            kind="rehab.case.enrolled",
            subject=case,
            district=case.district_id,
            payload={"person": case.person_id, "enrolled_on": data.enrolled_on},
        )
    return case


def _hand_over(actor: User, case: Case, on: dt.date) -> None:
    """Enrolling someone another institution sent here completes that transfer, which closes the
    sender's file: a person is served by one institution at a time."""
    transfer = Transfer.objects.filter(
        received_case=case, state=TransferState.ACCEPTED, case__status__in=SERVED_STATES
    ).first()
    if transfer is not None:
        _complete_transfer(actor=actor, transfer=transfer, on=max(on, transfer.answered_on or on))
    elif Case.objects.filter(person_id=case.person_id, status__in=SERVED_STATES).exclude(pk=case.pk).exists():
        raise ValidationError(SERVED_ELSEWHERE.format(name=case.person.name), code="duplicate")


def agreement_upload(*, actor: User, case: Case, scan) -> Case:
    require_own_case(actor, case)
    if case.agreement_signed_on is None:
        raise ValidationError(NEEDS_AGREEMENT)
    with transaction.atomic():
        case.agreement_scan.save(scan.name, scan, save=False)
        Case.objects.filter(pk=case.pk).update(agreement_scan=case.agreement_scan.name)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=case,
            person_id=case.person_id,
            summary="上传服务协议扫描件",
        )
    return case


def registration_update(*, actor: User, case: Case, values: dict[str, Any], expected_version: int) -> Case:
    require_own_case(actor, case)
    values = {k: v for k, v in values.items() if k in REGISTRATION_FIELDS}
    if errors := _registration_errors(case, values):
        raise ValidationError(errors)
    with transaction.atomic():
        before = audit.snapshot(case, REGISTRATION_FIELDS)
        changed = Case.objects.filter(pk=case.pk, version=expected_version).update(
            version=F("version") + 1, **values
        )
        if changed != 1:
            raise ValidationError(STATE_CHANGED, code="stale")
        case.refresh_from_db()
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=case,
            person_id=case.person_id,
            summary="修改基本情况登记表",
            changes=audit.diff(before, audit.snapshot(case, REGISTRATION_FIELDS)),
        )
    return case


INTAKE_FIELDS = [
    "interviewed_on",
    "mental_health",
    "physical_health",
    "family_structure",
    "living_environment",
    "growth_history",
    "interests",
    "guardian_view",
]


def intake_save(*, actor: User, case: Case, values: dict[str, Any]) -> Intake:
    require_own_case(actor, case)
    if case.status not in SERVED_STATES:
        raise ValidationError(NOT_SERVED.format(status=case.get_status_display()))
    _not_future(values["interviewed_on"], "interviewed_on")
    values = {k: values[k] for k in INTAKE_FIELDS if k in values}
    with transaction.atomic():
        intake, created = Intake.objects.update_or_create(
            case=case, defaults={**values, "by": actor, "updated_at": timezone.now()}
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            obj=intake,
            person_id=case.person_id,
            summary="入组面谈记录",
        )
    return intake
