"""Applications for 精康 services, handled by civil affairs: received, checked and registered (初核登记)
or found not to fit, and referred (转介) to an institution, which opens a case to screen. Also the
register of the people a confirmed roster names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Organisation, OrganisationKind, RegionLevel, User
from kangfu.core.spreadsheets import iter_chunks
from kangfu.core.workdays import add_working_days
from kangfu.people.models import Person
from kangfu.rehab.models import (
    OPEN_APPLICATION_STATES,
    OPEN_CASE_STATES,
    ROSTER_SOURCES,
    Application,
    ApplicationSource,
    ApplicationState,
    Case,
    CaseEvent,
    CaseStatus,
    RegisteredPerson,
)
from kangfu.rehab.services.common import (
    CHECK_DAYS,
    REFER_DAYS,
    SECOND_OPEN_CASE,
    STATE_CHANGED,
    _advance,
    _district_of,
    _not_future,
    _today,
)
from kangfu.rehab.services.counters import count

ALREADY_APPLIED = "{name}已有未办结的精康服务申请（{source}，{day} 收到），无需重复登记。"
ALREADY_SERVED = "{name}正在“{institution}”接受精康服务，无需重复申请。"
# Whether and where someone is served is itself health data: only civil affairs' intake learns the place.
ALREADY_SERVED_UNNAMED = "{name}已在接受精康服务，无需重复申请。"
ALREADY_APPLIED_UNNAMED = "{name}已有未办结的精康服务申请，无需重复登记。"
NOT_ALL_REFERRED = "有 {n} 份申请已不在待转介状态（可能已被他人转介），本次未作任何转介，请刷新后重新勾选。"
ROSTER_SOURCE_ONLY = "卫健、残联名单只能通过名单导入登记。"
NOT_AN_INSTITUTION = "“{name}”不是在用的精神障碍社区康复机构。"
INSTITUTION_OUTSIDE = "“{name}”不在您的管辖范围内。"
BEFORE_RECEIPT = "登记日期不能早于收到日期 {day}。"
BEFORE_REGISTRATION = "转介日期不能早于登记日期 {day}。"


def open_business(person: Person, actor: User | None = None) -> None:
    """Refuse a second way in for someone already applying or being served."""
    intake = actor is None or access.policy(actor).rehab_intake
    pending = Application.objects.filter(person=person, state__in=OPEN_APPLICATION_STATES).first()
    if pending is not None:
        if not intake:
            # The source would tell an institution that the person is on the 卫健 list.
            raise ValidationError(ALREADY_APPLIED_UNNAMED.format(name=person.name), code="duplicate")
        raise ValidationError(
            ALREADY_APPLIED.format(
                name=person.name, source=pending.get_source_display(), day=pending.received_on.isoformat()
            ),
            code="duplicate",
        )
    case = (
        Case.objects.filter(person=person, status__in=OPEN_CASE_STATES).select_related("institution").first()
    )
    if case is not None:
        if not intake:
            raise ValidationError(ALREADY_SERVED_UNNAMED.format(name=person.name), code="duplicate")
        raise ValidationError(
            ALREADY_SERVED.format(name=person.name, institution=case.institution.name), code="duplicate"
        )


@dataclass
class ApplicationData:
    source: str
    received_on: dt.date
    applicant_name: str = ""
    applicant_org: str = ""
    applicant_phone: str = ""
    reason: str = ""


def application_create(*, actor: User, person: Person, data: ApplicationData) -> Application:
    if not (access.policy(actor).rehab_intake or access.policy(actor).runs_rehab):
        raise PermissionDenied(access.NOT_ALLOWED)
    if data.source in ROSTER_SOURCES or data.source not in ApplicationSource.values:
        raise ValidationError({"source": ROSTER_SOURCE_ONLY})
    _not_future(data.received_on, "received_on")
    with transaction.atomic():
        # The application lands in the person's district worklist: only someone whose jurisdiction
        # covers the person may start one (404 otherwise, as everywhere).
        person = access.get_reachable(Person.objects.select_for_update(), actor, pk=person.pk)
        open_business(person, actor)
        application = Application.objects.create(
            person=person,
            district_id=person.district_id,
            source=data.source,
            applicant_name=data.applicant_name,
            applicant_org=data.applicant_org,
            applicant_phone=data.applicant_phone,
            reason=data.reason,
            received_on=data.received_on,
            check_due=add_working_days(data.received_on, CHECK_DAYS),
            created_by=actor,
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=application,
            person_id=person.pk,
            summary=f"受理精康服务申请（{application.get_source_display()}）",
        )
    return application


def register_listed(*, person_ids: Iterable[int], district_id: str, source: str, listed_on: dt.date) -> None:
    """The people a confirmed roster names are registered (在册), the denominator of coverage; their
    cases, open or not, count towards the numerator from now on."""
    for chunk in iter_chunks(sorted(set(person_ids)), 500):
        RegisteredPerson.objects.bulk_create(
            [
                RegisteredPerson(person_id=pk, district_id=district_id, source=source, listed_on=listed_on)
                for pk in chunk
            ],
            update_conflicts=True,
            unique_fields=["person"],
            update_fields=["district", "source", "listed_on"],
        )
        Case.objects.filter(person_id__in=chunk).exclude(roster_district_id=district_id).update(
            roster_district_id=district_id
        )


def _unregister_rejected(application: Application) -> None:
    """A roster line found not to fit at the first check (初核不符) leaves the register, unless another
    list names the person too."""
    if application.source not in ROSTER_SOURCES:
        return
    others = (
        Application.objects.filter(person_id=application.person_id, source__in=ROSTER_SOURCES)
        .exclude(state=ApplicationState.REJECTED)
        .exclude(pk=application.pk)
    )
    if not others.exists():
        RegisteredPerson.objects.filter(person_id=application.person_id).delete()
        Case.objects.filter(person_id=application.person_id).update(roster_district=None)


def _require_intake(actor: User, application: Application) -> None:
    access.require(actor, "rehab_intake")
    access.get_in_scope(Application.objects.all(), actor, prefix="person__", pk=application.pk)


def application_register(*, actor: User, application: Application, on: dt.date | None = None) -> Application:
    """初核登记: the application is checked and registered; the referral clock starts."""
    _require_intake(actor, application)
    on = on or _today()
    _not_future(on)
    if on < application.received_on:
        raise ValidationError(BEFORE_RECEIPT.format(day=application.received_on.isoformat()))
    with transaction.atomic():
        _advance(
            Application,
            application.pk,
            expected=[ApplicationState.RECEIVED],
            field_name="state",
            state=ApplicationState.REGISTERED,
            registered_on=on,
            refer_due=add_working_days(on, REFER_DAYS),
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=application,
            person_id=application.person_id,
            summary="精康申请初核登记",
        )
    application.refresh_from_db()
    return application


def application_reject(*, actor: User, application: Application, reason: str) -> Application:
    _require_intake(actor, application)
    if not reason.strip():
        raise ValidationError({"reason": "请说明初核不符的原因。"})
    with transaction.atomic():
        _advance(
            Application,
            application.pk,
            expected=OPEN_APPLICATION_STATES,
            field_name="state",
            state=ApplicationState.REJECTED,
            state_note=reason[:200],
        )
        _unregister_rejected(application)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=application,
            person_id=application.person_id,
            summary=f"精康申请初核不符：{reason}",
        )
    application.refresh_from_db()
    return application


def _check_institution(actor: User, institution: Organisation) -> None:
    if institution.kind != OrganisationKind.REHAB_INSTITUTION or not institution.is_active:
        raise ValidationError({"institution": NOT_AN_INSTITUTION.format(name=institution.name)})
    if not access.region_in_jurisdiction(actor, institution.region_id) and not access.region_in_jurisdiction(
        actor, _district_of(institution)
    ):
        # A street officer refers to the district's institutions, which lie outside the street.
        region = actor.jurisdiction
        if region is None or _district_of(institution) != region.ancestor(RegionLevel.DISTRICT):
            raise ValidationError({"institution": INSTITUTION_OUTSIDE.format(name=institution.name)})


def application_refer(
    *, actor: User, application: Application, institution: Organisation, on: dt.date | None = None
) -> Case:
    """康复转介: send a registered application to an institution, which opens a case to screen."""
    _require_intake(actor, application)
    on = on or _today()
    _not_future(on)
    if application.registered_on is not None and on < application.registered_on:
        raise ValidationError(BEFORE_REGISTRATION.format(day=application.registered_on.isoformat()))
    cases = _refer(actor=actor, ids=[application.pk], institution=institution, on=on)
    if not cases:
        raise ValidationError(STATE_CHANGED, code="stale")
    return cases[0]


def applications_refer(*, actor: User, ids: list[int], institution: Organisation) -> int:
    """Refer many registered applications at once (a roster shared out among institutions)."""
    access.require(actor, "rehab_intake")
    return len(_refer(actor=actor, ids=ids, institution=institution, on=_today()))


def _refer(*, actor: User, ids: list[int], institution: Organisation, on: dt.date) -> list[Case]:
    """Registered applications in the actor's scope → referred, each opening a case to screen at the
    institution; all or none, in a fixed number of statements however many there are."""
    _check_institution(actor, institution)
    with transaction.atomic():
        applications = list(
            access.scope_people(Application.objects.all(), actor, prefix="person__")
            .select_for_update(of=("self",))
            .filter(pk__in=ids, state=ApplicationState.REGISTERED)
            .select_related("person")
            .order_by("pk")
        )
        if len(applications) != len(set(ids)):
            if len(ids) == 1:
                return []
            raise ValidationError(NOT_ALL_REFERRED.format(n=len(set(ids)) - len(applications)), code="stale")
        person_ids = [a.person_id for a in applications]
        served_here = set(
            Case.objects.filter(
                person_id__in=person_ids, institution=institution, status__in=OPEN_CASE_STATES
            ).values_list("person_id", flat=True)
        )
        busy = {a.person.name for a in applications if a.person_id in served_here}
        if busy:
            raise ValidationError(
                SECOND_OPEN_CASE.format(name="、".join(sorted(busy)), institution=institution.name),
                code="duplicate",
            )
        changed = Application.objects.filter(
            pk__in=[a.pk for a in applications], state=ApplicationState.REGISTERED
        ).update(state=ApplicationState.REFERRED, referred_on=on, institution=institution)
        if changed != len(applications):
            raise ValidationError(STATE_CHANGED, code="stale")
        listed = dict(
            RegisteredPerson.objects.filter(person_id__in=person_ids).values_list("person_id", "district_id")
        )
        district_id = _district_of(institution)
        try:
            with transaction.atomic():
                cases = Case.objects.bulk_create(
                    [
                        Case(
                            person=a.person,
                            institution=institution,
                            district_id=district_id,
                            application=a,
                            referred_on=on,
                            roster_district_id=listed.get(a.person_id),
                            # The roster's diagnosis reaches the clinicians, not the clerks who referred.
                            diagnosis=a.roster_diagnosis,
                        )
                        for a in applications
                    ]
                )
        except IntegrityError:
            raise ValidationError(STATE_CHANGED, code="stale") from None
        CaseEvent.objects.bulk_create(
            [CaseEvent(case=c, status=CaseStatus.REFERRED, on=on, by=actor) for c in cases]
        )
        count(
            institution_id=institution.pk, district_id=district_id, day=on, measure="referred", n=len(cases)
        )
        audit.record_many(
            actor=actor,
            action=AuditAction.UPDATE,
            rows=[(a, a.person_id) for a in applications],
            summary=f"精康申请转介至{institution.name}",
        )
    return cases
