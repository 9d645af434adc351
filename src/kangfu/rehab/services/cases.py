"""A case's own status: opened on referral, active at its first service, suspended, resumed and
discharged (结案). Each move is a conditional update that leaves an event.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from kangfu.core import audit, events
from kangfu.core.models import AuditAction, Organisation, User
from kangfu.people.models import Person
from kangfu.rehab.models import Case, CaseEvent, CaseStatus, DischargeReason, RegisteredPerson
from kangfu.rehab.services.common import (
    SECOND_OPEN_CASE,
    _advance,
    _district_of,
    _not_future,
    require_own_case,
)
from kangfu.rehab.services.counters import _case_count


def _event(case: Case, status: str, on: dt.date, actor: User | None, reason: str = "") -> None:
    CaseEvent.objects.create(case=case, status=status, on=on, reason=reason[:300], by=actor)


def _open_case(
    *, person: Person, institution: Organisation, on: dt.date, actor: User | None, application=None
) -> Case:
    try:
        with transaction.atomic():
            case = Case.objects.create(
                person=person,
                institution=institution,
                district_id=_district_of(institution),
                application=application,
                referred_on=on,
                roster_district_id=RegisteredPerson.objects.filter(person=person)
                .values_list("district_id", flat=True)
                .first(),
            )
    except IntegrityError:
        raise ValidationError(
            SECOND_OPEN_CASE.format(name=person.name, institution=institution.name), code="duplicate"
        ) from None
    _event(case, CaseStatus.REFERRED, on, actor)
    _case_count(case, on, "referred")
    return case


def case_suspend(*, actor: User, case: Case, on: dt.date, reason: str) -> Case:
    require_own_case(actor, case)
    _not_future(on)
    if not reason.strip():
        raise ValidationError({"reason": "请说明暂停的原因。"})
    with transaction.atomic():
        _advance(
            Case,
            case.pk,
            expected=[CaseStatus.ENROLLED, CaseStatus.ACTIVE],
            status=CaseStatus.SUSPENDED,
            suspended_on=on,
            status_note=reason[:300],
            version=F("version") + 1,
        )
        case.refresh_from_db()
        _event(case, CaseStatus.SUSPENDED, on, actor, reason)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=case,
            person_id=case.person_id,
            summary=f"暂停服务：{reason}",
        )
    return case


def case_resume(*, actor: User, case: Case, on: dt.date) -> Case:
    require_own_case(actor, case)
    _not_future(on)
    with transaction.atomic():
        _advance(
            Case,
            case.pk,
            expected=[CaseStatus.SUSPENDED],
            status=CaseStatus.ACTIVE,
            suspended_on=None,
            status_note="",
            version=F("version") + 1,
        )
        case.refresh_from_db()
        _event(case, CaseStatus.ACTIVE, on, actor, "恢复服务")
        audit.record(
            actor=actor, action=AuditAction.UPDATE, obj=case, person_id=case.person_id, summary="恢复服务"
        )
    return case


def case_discharge(*, actor: User | None, case: Case, on: dt.date, reason: str, note: str = "") -> Case:
    """结案. `actor` None is the system acting on a registry event (death, move) it was told of."""
    if actor is not None:
        require_own_case(actor, case)
    _not_future(on)
    if reason not in DischargeReason.values:
        raise ValidationError({"reason": "请选择结案原因。"})
    return _discharge(actor=actor, case=case, on=on, reason=reason, note=note)


def _discharge(*, actor: User | None, case: Case, on: dt.date, reason: str, note: str = "") -> Case:
    with transaction.atomic():
        _advance(
            Case,
            case.pk,
            expected=[CaseStatus.ENROLLED, CaseStatus.ACTIVE, CaseStatus.SUSPENDED],
            status=CaseStatus.DISCHARGED,
            discharged_on=on,
            discharge_reason=reason,
            status_note=note[:300],
            next_follow_up_on=None,
            plan_review_on=None,
            version=F("version") + 1,
        )
        case.refresh_from_db()
        _event(case, CaseStatus.DISCHARGED, on, actor, note or case.get_discharge_reason_display())
        _case_count(case, on, "discharged", reason)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=case,
            person_id=case.person_id,
            summary=f"结案：{case.get_discharge_reason_display()}",
        )
        events.record(
            kind="rehab.case.discharged",
            subject=case,
            district=case.district_id,
            payload={"person": case.person_id, "discharged_on": on, "reason": reason},
        )
    return case


def _activate(case: Case, on: dt.date, actor: User | None, why: str) -> None:
    _activate_many([case], on, actor, why)


def _activate_many(cases: list[Case], on: dt.date, actor: User | None, why: str) -> None:
    """Enrolled → active at the first service; in a fixed number of statements for any number of cases."""
    waiting = [c.pk for c in cases if c.status == CaseStatus.ENROLLED]
    if not waiting:
        return
    # Lock first, so the events name exactly the cases this write moved, even beside a concurrent one.
    moved = set(
        Case.objects.select_for_update()
        .filter(pk__in=waiting, status=CaseStatus.ENROLLED)
        .values_list("pk", flat=True)
    )
    Case.objects.filter(pk__in=moved).update(status=CaseStatus.ACTIVE)
    CaseEvent.objects.bulk_create(
        [
            CaseEvent(case_id=pk, status=CaseStatus.ACTIVE, on=on, reason=why[:300], by=actor)
            for pk in sorted(moved)
        ]
    )
    for case in cases:
        if case.pk in moved:
            case.status = CaseStatus.ACTIVE
