"""Every write to the registry of people. One service, one transaction, one audit row.

Services take the acting user explicitly (`actor=None` means the system itself: a command or a
data load) and re-check scope and role, so a page, the API and a command cannot differ.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from kangfu.core import access, audit, bulk, crypto
from kangfu.core.ids import normalize_id_number, normalize_phone, parse_certificate_number
from kangfu.core.models import AuditAction, Region, RegionLevel, User, ancestor_code
from kangfu.core.selectors import region_for_code
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCertificate,
    Guardian,
    IncomePeriod,
    LifeEvent,
    LifeEventKind,
    Person,
    Sex,
    VitalStatus,
)

DUPLICATE_PERSON = "该身份证号已登记，不能重复建档。"
DUPLICATE_PERSON_ELSEWHERE = "该身份证号已在其他辖区登记，请联系其所在区民政部门核实，不能重复建档。"
STALE_EDIT = "该记录在您打开后已被他人修改。您的修改没有保存，请刷新页面、核对最新内容后再修改。"
UNKNOWN_COMMUNITY = "请选择居住社区（村）。"
NOT_A_COMMUNITY = "居住地须选到社区（村）一级。"
UNKNOWN_REGION = "未找到该区划代码。"
DUPLICATE_CERTIFICATE = "该残疾人证号已登记。"
CERT_DATES = "有效期应晚于发证日期。"
FUTURE_DATE = "日期不能晚于今天。"
PERIOD_OVERLAP = "与已有的{status}期间（{start} 至 {end}）重叠。"
PERIOD_ORDER = "终止日期不能早于起始日期。"
PERIOD_ALREADY_ENDED = "该期间已经终止。"
CERT_NOT_VALID = "只有有效的残疾人证可以注销。"
NAME_REQUIRED = "请填写姓名。"

PERSON_FIELDS = ("name", "id_number", "phone", "community_id", "address", "hukou_region_id", "hukou_type")
SENSITIVE = ("id_number", "phone", "number")

ID_PURPOSE = "id"
PHONE_PURPOSE = "phone"
CERT_PURPOSE = "cert"


class DuplicatePerson(ValidationError):
    """The ID number is registered already; `person_id` says where, for a caller allowed to see it."""

    def __init__(self, message: str, *, person_id: int):
        super().__init__({"id_number": [message]}, code="duplicate_person")
        self.person_id = person_id


class StaleEdit(Exception):
    """The record changed since the editor loaded it; nothing was saved."""

    message = STALE_EDIT

    def __str__(self) -> str:
        return STALE_EDIT


def id_hash(number: str) -> str:
    return crypto.blind_index(number, purpose=ID_PURPOSE)


def phone_hash(phone: str) -> str:
    return crypto.blind_index(phone, purpose=PHONE_PURPOSE)


def certificate_hash(number: str) -> str:
    return crypto.blind_index(number, purpose=CERT_PURPOSE)


def _today() -> dt.date:
    return timezone.localdate()


def _ensure_can_write(actor: User | None, community_code: str) -> None:
    if actor is None:
        return
    if not access.policy(actor).writes_people:
        raise PermissionDenied(access.NOT_ALLOWED)
    if not access.region_in_jurisdiction(actor, community_code):
        raise PermissionDenied(access.OUT_OF_SCOPE_REGION)


def _community(code: str | None) -> Region:
    if not code:
        raise ValidationError({"community": [UNKNOWN_COMMUNITY]})
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ValidationError({"community": [UNKNOWN_COMMUNITY]})
    if region.level != RegionLevel.COMMUNITY:
        raise ValidationError({"community": [NOT_A_COMMUNITY]})
    return region


def _known_region(code: str | None, field: str) -> str | None:
    """The code stored for a household registration: any region of China at any level, given in
    2 to 12 digits; an abolished one is stored as its successor, so that the people of 塘沽区
    are found under 滨海新区 by every district-scoped query."""
    if not code:
        return None
    region = region_for_code(code)
    if region is None:
        raise ValidationError({field: [UNKNOWN_REGION]})
    return region.code


def placement(community_code: str) -> dict[str, str]:
    """The residence columns of a person living in the community of that code (its street, district
    and city are read off the code)."""
    return {
        "community_id": community_code,
        "street_id": ancestor_code(community_code, RegionLevel.STREET),
        "district_id": ancestor_code(community_code, RegionLevel.DISTRICT),
        "city_id": ancestor_code(community_code, RegionLevel.CITY),
    }


def _duplicate(actor: User | None, existing_id: int) -> DuplicatePerson:
    visible = actor is None or access.scope_people(Person.objects.filter(pk=existing_id), actor).exists()
    return DuplicatePerson(DUPLICATE_PERSON if visible else DUPLICATE_PERSON_ELSEWHERE, person_id=existing_id)


@dataclass(frozen=True)
class PersonData:
    """What a clerk types for a person. Birth date and sex are never typed: the ID number says them."""

    name: str
    id_number: str
    community_code: str
    phone: str = ""
    address: str = ""
    hukou_region_code: str | None = None
    hukou_type: str = ""


def _clean(data: PersonData) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    name = (data.name or "").strip()
    if not name:
        errors.setdefault("name", []).append(NAME_REQUIRED)
    values["name"] = name
    try:
        facts = normalize_id_number(data.id_number, today=_today())
        values.update(id_number=facts.number, birth_date=facts.birth_date, sex=facts.sex)
    except ValidationError as exc:
        errors.setdefault("id_number", []).extend(exc.messages)
    try:
        values["phone"] = normalize_phone(data.phone)
    except ValidationError as exc:
        errors.setdefault("phone", []).extend(exc.messages)
    try:
        community = _community(data.community_code)
        values.update(placement(community.code))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        values["hukou_region_id"] = _known_region(data.hukou_region_code, "hukou_region") or values.get(
            "community_id"
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    values["address"] = (data.address or "").strip()
    values["hukou_type"] = data.hukou_type or ""
    if errors:
        raise ValidationError(errors)
    values["id_number_hash"] = id_hash(values["id_number"])
    values["phone_hash"] = phone_hash(values["phone"])
    return values


def people_register_many(*, actor: User | None, rows: list[dict[str, Any]], now=None) -> list[int]:
    """Register many new people at once, as an import does (the go-live people file, a 精康 roster),
    in the caller's transaction: one bulk insert, the keys returned in the order of `rows`.

    Each row holds `name`, `id_number` (normalised) and its `id_number_hash`, `phone` (normalised or
    empty), `community_id`, and optionally `address`, `hukou_region_id` (else the community) and
    `hukou_type`. The birth date and sex are read off the ID number, the residence's street,
    district and city off the community, as `person_create` does. The caller has checked each line
    (a valid number not registered yet) and writes the audit entries with its own report."""
    if actor is not None:
        if not access.policy(actor).registers_people:
            raise PermissionDenied(access.NOT_ALLOWED)
        region = actor.jurisdiction
        if region is None or any(not region.contains(r["community_id"]) for r in rows):
            raise PermissionDenied(access.OUT_OF_SCOPE_REGION)
    now = now or timezone.now()
    actor_id = actor.pk if actor is not None else None
    people = []
    for row in rows:
        number, community = row["id_number"], row["community_id"]
        people.append(
            {
                "name": row["name"],
                "id_number": number,
                "id_number_hash": row["id_number_hash"],
                "birth_date": dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
                "sex": Sex.MALE if int(number[16]) % 2 else Sex.FEMALE,
                "phone": row.get("phone", ""),
                "phone_hash": phone_hash(row.get("phone", "")),
                "address": row.get("address", ""),
                "hukou_region_id": row.get("hukou_region_id") or community,
                "hukou_type": row.get("hukou_type", ""),
                **placement(community),
                "created_by_id": actor_id,
                "created_at": now,
                "updated_at": now,
            }
        )
    return bulk.insert(Person, people)


def person_create(*, actor: User | None, data: PersonData) -> Person:
    """Register a person. A known ID number raises DuplicatePerson pointing at the existing record."""
    values = _clean(data)
    _ensure_can_write(actor, values["community_id"])
    if actor is not None and not access.policy(actor).registers_people:
        raise PermissionDenied(access.NOT_ALLOWED)
    existing = (
        Person.objects.filter(id_number_hash=values["id_number_hash"]).values_list("pk", flat=True).first()
    )
    if existing is not None:
        raise _duplicate(actor, existing)
    try:
        with transaction.atomic():
            person = Person.objects.create(**values, created_by=actor)
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=person,
                person_id=person.pk,
                summary=f"登记人员 {person.name}",
                changes=audit.snapshot(person, PERSON_FIELDS, sensitive=SENSITIVE),
            )
    except IntegrityError:
        # Two clerks registering the same number at once: the unique blind index lets one through.
        existing = (
            Person.objects.filter(id_number_hash=values["id_number_hash"])
            .values_list("pk", flat=True)
            .first()
        )
        if existing is None:
            raise
        raise _duplicate(actor, existing) from None
    return person


def person_update(*, actor: User | None, person: Person, data: PersonData, expected_version: int) -> Person:
    """Change a person's basic data if nobody saved it since `expected_version` was read."""
    if actor is not None:
        _ensure_can_write(actor, person.community_id)
    values = _clean(data)
    _ensure_can_write(actor, values["community_id"])
    clash = (
        Person.objects.filter(id_number_hash=values["id_number_hash"])
        .exclude(pk=person.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if clash is not None:
        raise _duplicate(actor, clash)
    before = {f: getattr(person, f) for f in PERSON_FIELDS}
    changes = audit.diff(before, {f: values[f] for f in PERSON_FIELDS}, sensitive=SENSITIVE)
    with transaction.atomic():
        updated = Person.objects.filter(pk=person.pk, version=expected_version).update(
            **values, version=expected_version + 1, updated_at=timezone.now()
        )
        if updated != 1:
            raise StaleEdit()
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=person,
            person_id=person.pk,
            summary=f"修改人员 {values['name']} 的基本信息",
            changes=changes,
        )
    person.refresh_from_db()
    return person


def person_reveal(*, actor: User, person: Person, field: str) -> str:
    """The full value of one masked field, for a role that may see it; every reveal is audited."""
    if field not in {"id_number", "phone"}:
        raise ValidationError("不支持显示该字段。")
    access.require(actor, "reveals")
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.REVEAL,
            obj=person,
            person_id=person.pk,
            summary=f"查看 {person.name} 的完整{Person._meta.get_field(field).verbose_name}",
            changes={"field": field},
        )
    return getattr(person, field)


def _check_person_write(actor: User | None, person: Person) -> None:
    _ensure_can_write(actor, person.community_id)


def _touch(person: Person) -> None:
    """Sub-record changes bump the person's version too, so an open edit form learns of them."""
    Person.objects.filter(pk=person.pk).update(version=person.version + 1, updated_at=timezone.now())
    person.version += 1


def guardian_add(
    *,
    actor: User | None,
    person: Person,
    name: str,
    relation: str,
    is_guardian: bool = True,
    is_carer: bool = False,
    phone: str = "",
    id_number: str = "",
    address: str = "",
) -> Guardian:
    _check_person_write(actor, person)
    errors: dict[str, list[str]] = {}
    if not (name or "").strip():
        errors["name"] = [NAME_REQUIRED]
    number = ""
    if id_number:
        try:
            number = normalize_id_number(id_number, today=_today()).number
        except ValidationError as exc:
            errors["id_number"] = exc.messages
    try:
        phone = normalize_phone(phone)
    except ValidationError as exc:
        errors["phone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        guardian = Guardian.objects.create(
            person=person,
            name=name.strip(),
            relation=relation,
            is_guardian=is_guardian,
            is_carer=is_carer,
            phone=phone,
            id_number=number,
            id_number_hash=id_hash(number),
            address=address,
        )
        _touch(person)
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=guardian,
            person_id=person.pk,
            summary=f"为 {person.name} 添加{'监护人' if is_guardian else '照护人'} {guardian.name}",
            changes=audit.snapshot(
                guardian,
                ("name", "relation", "is_guardian", "is_carer", "phone", "id_number"),
                sensitive=SENSITIVE,
            ),
        )
    return guardian


def guardian_remove(*, actor: User | None, guardian: Guardian) -> None:
    person = guardian.person
    _check_person_write(actor, person)
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.DELETE,
            obj=guardian,
            person_id=person.pk,
            summary=f"删除 {person.name} 的监护人/照护人 {guardian.name}",
            changes={"name": guardian.name, "relation": guardian.relation},
        )
        guardian.delete()
        _touch(person)


def certificate_issue(
    *, actor: User | None, person: Person, number: str, issued_on: dt.date, expires_on: dt.date | None = None
) -> DisabilityCertificate:
    """Record a certificate; a previous valid one becomes 已换发 (the history keeps both)."""
    _check_person_write(actor, person)
    try:
        facts = parse_certificate_number(number, id_number=person.id_number)
    except ValidationError as exc:
        raise ValidationError({"number": exc.messages}) from None
    if issued_on > _today():
        raise ValidationError({"issued_on": [FUTURE_DATE]})
    if expires_on is not None and expires_on <= issued_on:
        raise ValidationError({"expires_on": [CERT_DATES]})
    digest = certificate_hash(facts.number)
    if DisabilityCertificate.objects.filter(number_hash=digest).exists():
        raise ValidationError({"number": [DUPLICATE_CERTIFICATE]})
    with transaction.atomic():
        replaced = DisabilityCertificate.objects.filter(person=person, status=CertificateStatus.VALID).update(
            status=CertificateStatus.REPLACED, status_changed_on=issued_on, status_reason="换发新证"
        )
        cert = DisabilityCertificate.objects.create(
            person=person,
            number=facts.number,
            number_hash=digest,
            category=facts.category,
            grade=facts.grade,
            issued_on=issued_on,
            expires_on=expires_on,
        )
        _touch(person)
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=cert,
            person_id=person.pk,
            summary=f"登记 {person.name} 的残疾人证（{cert}）" + ("，原证已换发" if replaced else ""),
            changes=audit.snapshot(
                cert, ("number", "category", "grade", "issued_on", "expires_on"), sensitive=SENSITIVE
            ),
        )
    return cert


def certificate_cancel(
    *, actor: User | None, certificate: DisabilityCertificate, cancelled_on: dt.date, reason: str
) -> DisabilityCertificate:
    person = certificate.person
    _check_person_write(actor, person)
    if cancelled_on > _today():
        raise ValidationError({"cancelled_on": [FUTURE_DATE]})
    with transaction.atomic():
        changed = DisabilityCertificate.objects.filter(
            pk=certificate.pk, status=CertificateStatus.VALID
        ).update(status=CertificateStatus.CANCELLED, status_changed_on=cancelled_on, status_reason=reason)
        if changed != 1:
            raise ValidationError(CERT_NOT_VALID)
        _touch(person)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=certificate,
            person_id=person.pk,
            summary=f"注销 {person.name} 的残疾人证：{reason}",
            changes={"status": [CertificateStatus.VALID, CertificateStatus.CANCELLED]},
        )
    certificate.refresh_from_db()
    return certificate


def certificates_renewed(
    *, actor: User | None, renewals: Iterable[tuple[int, dt.date | None, dt.date | None]], source: str
) -> int:
    """残联's renewals (换领) of (person, renewed on, new expiry): each person's valid certificate keeps
    its number, category and grade and runs to the new expiry, or without one when the renewal gives
    none. A renewal older than the certificate, or one that would shorten it, changes nothing. One
    query to read, one to write, one for the trail: a month's renewals come in one file."""
    latest: dict[int, tuple[dt.date | None, dt.date | None]] = {}
    for person_id, renewed_on, until in renewals:
        if person_id not in latest or (renewed_on or dt.date.min) >= (latest[person_id][0] or dt.date.min):
            latest[person_id] = (renewed_on, until)
    changed = []
    certificates = DisabilityCertificate.objects.filter(
        person_id__in=list(latest), status=CertificateStatus.VALID, expires_on__isnull=False
    )
    for cert in certificates:
        renewed_on, until = latest[cert.person_id]
        if (renewed_on is not None and renewed_on < cert.issued_on) or (
            until is not None and until <= cert.expires_on
        ):
            continue
        changed.append((cert, cert.expires_on))
        cert.expires_on = until
    if not changed:
        return 0
    with transaction.atomic():
        DisabilityCertificate.objects.bulk_update([cert for cert, _old in changed], ["expires_on"])
        Person.objects.filter(pk__in=[cert.person_id for cert, _old in changed]).update(
            version=F("version") + 1, updated_at=timezone.now()
        )
        audit.record_rows(
            actor=actor,
            action=AuditAction.UPDATE,
            rows=[
                audit.Row(
                    object_type="people.disabilitycertificate",
                    object_id=str(cert.pk),
                    person_id=cert.person_id,
                    summary=f"残疾人证换领（{source}）：有效期至 {cert.expires_on or '未报（长期）'}",
                    changes={"expires_on": [str(old), str(cert.expires_on) if cert.expires_on else None]},
                )
                for cert, old in changed
            ],
        )
    return len(changed)


def _overlaps(person: Person, start: dt.date, end: dt.date | None, *, exclude: int | None = None):
    far = dt.date.max
    clash = IncomePeriod.objects.filter(person=person, start_date__lte=end or far).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=start)
    )
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    return clash.first()


def income_period_add(
    *,
    actor: User | None,
    person: Person,
    status: str,
    start_date: dt.date,
    end_date: dt.date | None = None,
    note: str = "",
) -> IncomePeriod:
    """Record a period of 低保, 低保边缘 or 特困; a family holds one status at a time."""
    _check_person_write(actor, person)
    if end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": [PERIOD_ORDER]})
    clash = _overlaps(person, start_date, end_date)
    if clash is not None:
        raise ValidationError(
            {
                "start_date": [
                    PERIOD_OVERLAP.format(
                        status=clash.get_status_display(), start=clash.start_date, end=clash.end_date or "今"
                    )
                ]
            }
        )
    with transaction.atomic():
        period = IncomePeriod.objects.create(
            person=person, status=status, start_date=start_date, end_date=end_date, note=note
        )
        _touch(person)
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=period,
            person_id=person.pk,
            summary=f"登记 {person.name} 的{period.get_status_display()}期间",
            changes=audit.snapshot(period, ("status", "start_date", "end_date")),
        )
    return period


def income_period_end(*, actor: User | None, period: IncomePeriod, end_date: dt.date) -> IncomePeriod:
    person = period.person
    _check_person_write(actor, person)
    if end_date < period.start_date:
        raise ValidationError({"end_date": [PERIOD_ORDER]})
    with transaction.atomic():
        changed = IncomePeriod.objects.filter(pk=period.pk, end_date__isnull=True).update(end_date=end_date)
        if changed != 1:
            raise ValidationError(PERIOD_ALREADY_ENDED)
        _touch(person)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=period,
            person_id=person.pk,
            summary=f"终止 {person.name} 的{period.get_status_display()}期间",
            changes={"end_date": [None, str(end_date)]},
        )
    period.refresh_from_db()
    return period


# The status each kind of event leaves a person in; moves leave it as it was.
_VITAL_AFTER = {
    LifeEventKind.DEATH: VitalStatus.DECEASED,
    LifeEventKind.DECLARED_DEATH: VitalStatus.DECLARED_DEAD,
    LifeEventKind.MISSING: VitalStatus.MISSING,
    LifeEventKind.RETURNED: VitalStatus.NORMAL,
    LifeEventKind.IMPRISONMENT: VitalStatus.IMPRISONED,
    LifeEventKind.RELEASE: VitalStatus.NORMAL,
}


def vital_status_after(events: list[tuple[dt.date, int, str]]) -> str:
    """The status left by the latest status-bearing event, by date then by entry order."""
    status = VitalStatus.NORMAL
    for _day, _pk, kind in sorted(events):
        status = _VITAL_AFTER.get(kind, status)
    return status


def life_event_record(
    *,
    actor: User | None,
    person: Person,
    kind: str,
    occurred_on: dt.date,
    to_region_code: str | None = None,
    document: str = "",
    note: str = "",
) -> LifeEvent:
    """Record a death, declared death, disappearance, prison term, release or household move.

    The person's status follows the latest event by date, so a late entry of an older event does
    not undo a newer one. A household move sets the person's 户籍地 to the region given.
    """
    _check_person_write(actor, person)
    if occurred_on > _today():
        raise ValidationError({"occurred_on": [FUTURE_DATE]})
    to_region = _known_region(to_region_code, "to_region")
    with transaction.atomic():
        event = LifeEvent.objects.create(
            person=person,
            kind=kind,
            occurred_on=occurred_on,
            to_region_id=to_region,
            document=document,
            note=note,
            recorded_by=actor,
        )
        events = list(LifeEvent.objects.filter(person=person).values_list("occurred_on", "pk", "kind"))
        updates: dict[str, Any] = {"vital_status": vital_status_after(events)}
        if kind in (LifeEventKind.MOVE_OUT, LifeEventKind.MOVE_IN) and to_region:
            updates["hukou_region_id"] = to_region
        Person.objects.filter(pk=person.pk).update(
            **updates, version=person.version + 1, updated_at=timezone.now()
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=event,
            person_id=person.pk,
            summary=f"登记 {person.name} 的生活事件：{event.get_kind_display()}（{occurred_on}）",
            changes={
                "kind": kind,
                "occurred_on": str(occurred_on),
                "vital_status": [person.vital_status, updates["vital_status"]],
            },
        )
    person.refresh_from_db()
    return event
