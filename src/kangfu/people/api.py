"""People endpoints of the REST API: the same selectors, FilterSet, services, masking and audit as
the pages."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from kangfu.core import access, audit
from kangfu.core.ids import mask_id_number, mask_phone
from kangfu.core.models import AuditAction
from kangfu.core.pagination import Limit, Offset, api_page
from kangfu.people import selectors, services
from kangfu.people.filters import PersonFilter
from kangfu.people.models import Person

router = Router(tags=["人员"])


class RegionOut(Schema):
    code: str
    name: str


class CertificateOut(Schema):
    number: str = Field(description="脱敏的残疾人证号")
    category: int
    category_label: str
    grade: int
    grade_label: str
    issued_on: dt.date
    expires_on: dt.date | None
    status: str


class PersonOut(Schema):
    id: int
    name: str
    id_number: str = Field(description="脱敏的身份证号")
    sex: str
    birth_date: dt.date
    phone: str = Field(description="脱敏的联系电话")
    community: RegionOut
    street_code: str
    district_code: str
    address: str
    hukou_region_code: str | None
    hukou_type: str
    vital_status: str
    certificate: CertificateOut | None
    version: int = Field(description="修改时原样传回，用于发现并发修改")


class GuardianOut(Schema):
    name: str
    relation: str
    is_guardian: bool
    is_carer: bool
    phone: str


class IncomePeriodOut(Schema):
    status: str
    start_date: dt.date
    end_date: dt.date | None


class LifeEventOut(Schema):
    kind: str
    occurred_on: dt.date


class PersonDetailOut(PersonOut):
    guardians: list[GuardianOut]
    certificates: list[CertificateOut]
    income_periods: list[IncomePeriodOut]
    life_events: list[LifeEventOut]


class PersonPage(Schema):
    count: int
    count_capped: bool = Field(description="为真时 count 是上限，实际更多")
    items: list[PersonOut]


class PersonIn(Schema):
    name: str
    id_number: str
    community_code: str
    phone: str = ""
    address: str = ""
    hukou_region_code: str | None = None
    hukou_type: str = ""


class PersonPatch(Schema):
    version: int
    name: str | None = None
    id_number: str | None = None
    community_code: str | None = None
    phone: str | None = None
    address: str | None = None
    hukou_region_code: str | None = None
    hukou_type: str | None = None


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


def _cert_out(cert) -> dict:
    return {
        "number": mask_id_number(cert.number),
        "category": cert.category,
        "category_label": cert.get_category_display(),
        "grade": cert.grade,
        "grade_label": cert.get_grade_display(),
        "issued_on": cert.issued_on,
        "expires_on": cert.expires_on,
        "status": cert.status,
    }


def _person_out(p: Person) -> dict:
    cert = selectors.current_certificate(p)
    return {
        "id": p.pk,
        "name": p.name,
        "id_number": mask_id_number(p.id_number),
        "sex": p.sex,
        "birth_date": p.birth_date,
        "phone": mask_phone(p.phone),
        "community": {"code": p.community_id, "name": p.community.name},
        "street_code": p.street_id,
        "district_code": p.district_id,
        "address": p.address,
        "hukou_region_code": p.hukou_region_id,
        "hukou_type": p.hukou_type,
        "vital_status": p.vital_status,
        "certificate": _cert_out(cert) if cert else None,
        "version": p.version,
    }


def _detail_out(p: Person) -> dict:
    related = selectors.person_detail_related(p)
    return {
        **_person_out(p),
        "guardians": [
            {
                "name": g.name,
                "relation": g.relation,
                "is_guardian": g.is_guardian,
                "is_carer": g.is_carer,
                "phone": mask_phone(g.phone),
            }
            for g in related["guardians"]
        ],
        "certificates": [_cert_out(c) for c in related["certificates"]],
        "income_periods": [
            {"status": i.status, "start_date": i.start_date, "end_date": i.end_date}
            for i in related["income_periods"]
        ],
        "life_events": [{"kind": e.kind, "occurred_on": e.occurred_on} for e in related["life_events"]],
    }


@router.get(
    "/",
    response=PersonPage,
    summary="人员列表",
    description="查询参数同页面筛选：q（姓名开头、身份证号、残疾人证号或电话）、region、category、grade、income、vital_status；limit 最多 100，offset 最大 100 万。",
)
def list_people(request, limit: Limit = 20, offset: Offset = 0):
    access.require(request.user, "reads_people")
    qs = PersonFilter(request.GET, queryset=selectors.person_list(user=request.user)).qs
    return api_page(
        qs,
        limit=limit,
        offset=offset,
        out=lambda page: [_person_out(p) for p in page],
        reader=request.user,
        person_of=lambda p: p.pk,
        summary="读取人员列表（API）",
    )


@router.get("/{int:person_id}", response={200: PersonDetailOut, 404: ErrorOut}, summary="人员详情")
def get_person(request, person_id: int):
    access.require(request.user, "reads_people")
    person = selectors.person_get_for_user(user=request.user, pk=person_id)
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=person,
        person_id=person.pk,
        summary=f"查看 {person.name} 的档案（API）",
    )
    return _detail_out(person)


@router.post("/", response={201: PersonOut, 400: ErrorOut, 409: ErrorOut}, summary="登记人员")
def create_person(request, payload: PersonIn):
    access.require(request.user, "writes_people")
    try:
        person = services.person_create(actor=request.user, data=services.PersonData(**payload.dict()))
    except services.DuplicatePerson as exc:
        body = {"detail": exc.messages[0], "errors": exc.message_dict}
        if exc.messages[0] == services.DUPLICATE_PERSON:
            body["errors"]["existing_id"] = [str(exc.person_id)]
        return Status(409, body)
    person = selectors.person_get_for_user(user=request.user, pk=person.pk)
    return Status(201, _person_out(person))


@router.patch(
    "/{int:person_id}",
    response={200: PersonOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="修改人员",
    description="须带上读取时的 version；记录已被他人修改时返回 409，不保存。",
)
def update_person(request, person_id: int, payload: PersonPatch):
    access.require(request.user, "writes_people")
    person = selectors.person_get_for_user(user=request.user, pk=person_id)
    given = payload.dict(exclude_unset=True)
    data = services.PersonData(
        name=given.get("name", person.name),
        id_number=given.get("id_number", person.id_number),
        community_code=given.get("community_code", person.community_id),
        phone=given.get("phone", person.phone),
        address=given.get("address", person.address),
        hukou_region_code=given.get("hukou_region_code", person.hukou_region_id),
        hukou_type=given.get("hukou_type", person.hukou_type),
    )
    try:
        services.person_update(actor=request.user, person=person, data=data, expected_version=payload.version)
    except services.DuplicatePerson as exc:
        return Status(409, {"detail": exc.messages[0], "errors": exc.message_dict})
    person = get_object_or_404(selectors.person_list(user=request.user), pk=person_id)
    return Status(200, _person_out(person))
