"""Every write of 精康. One service, one transaction, one audit row (or more), counters kept in step.

Status moves are conditional updates (the status must still be what the service expects), so a double
click or two workers acting on one case at once cannot both succeed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Organisation, OrganisationKind, RegionLevel, User
from kangfu.core.spreadsheets import iter_chunks
from kangfu.core.workdays import add_working_days
from kangfu.people.models import Person
from kangfu.rehab import scales
from kangfu.rehab.models import (
    OPEN_APPLICATION_STATES,
    OPEN_CASE_STATES,
    ROSTER_SOURCES,
    SERVED_STATES,
    Activity,
    ActivityForm,
    ActivityPhoto,
    Application,
    ApplicationSource,
    ApplicationState,
    Assessment,
    Attendance,
    Case,
    CaseEvent,
    CaseOutcome,
    CaseStatus,
    DeclineReason,
    DischargeReason,
    EmergencyAccess,
    EmploymentType,
    FollowUp,
    Insight,
    InstitutionProfile,
    Intake,
    MonthlyCount,
    OutcomeCount,
    Placement,
    PlacementOutcome,
    Plan,
    PlanGoal,
    PlanService,
    RegisteredPerson,
    Scale,
    ScreeningContact,
    SharePart,
    Stability,
    StaffMember,
    Training,
    Transfer,
    TransferKind,
    TransferState,
    month_start,
)

CHECK_DAYS = getattr(settings, "KANGFU_REHAB_CHECK_DAYS", 5)
REFER_DAYS = getattr(settings, "KANGFU_REHAB_REFER_DAYS", 5)
EMERGENCY_HOURS = 4

ALREADY_APPLIED = "{name}已有未办结的精康服务申请（{source}，{day} 收到），无需重复登记。"
ALREADY_SERVED = "{name}正在“{institution}”接受精康服务，无需重复申请。"
# Whether and where someone is served is itself health data: only civil affairs' intake learns the place.
ALREADY_SERVED_UNNAMED = "{name}已在接受精康服务，无需重复申请。"
ALREADY_APPLIED_UNNAMED = "{name}已有未办结的精康服务申请，无需重复登记。"
TRANSFER_NOT_ENROLLED = "接收机构为其建档后，这条转介才算完成（建档时自动完成）。"
NOT_ALL_REFERRED = "有 {n} 份申请已不在待转介状态（可能已被他人转介），本次未作任何转介，请刷新后重新勾选。"
ROSTER_SOURCE_ONLY = "卫健、残联名单只能通过名单导入登记。"
STATE_CHANGED = "该事项的状态已经改变（可能已被他人处理），请刷新后再试。"
NOT_AN_INSTITUTION = "“{name}”不是在用的精神障碍社区康复机构。"
INSTITUTION_OUTSIDE = "“{name}”不在您的管辖范围内。"
SERVED_ELSEWHERE = "{name}正在其他机构接受精康服务，须由该机构结案或转介交接后才能在本机构建档。"
SECOND_OPEN_CASE = "{name}在“{institution}”已有未结案的服务档案，不能重复建档。"
NOT_YOUR_CASE = "该档案不属于您的机构。"
NOT_SCREENED = "须先完成筛查并判定适合社区康复，才能登记建档。"
NEEDS_RIGHTS = "须先告知本人和监护人服务内容、权益和义务，并填写告知日期。"
NEEDS_AGREEMENT = "须签订社区康复服务协议，并填写签订日期和签署人。"
NEEDS_GUARDIAN = "由监护人签署时，须填写监护人姓名。"
DECLINE_NEEDS_REASON = "判定不纳入时，须选择原因。"
NOT_SERVED = "该人员目前不在服务中（{status}），不能登记。"
FUTURE = "日期不能晚于今天。"
BEFORE_ENROLMENT = "日期不能早于建档日期 {day}。"
BEFORE_RECEIPT = "登记日期不能早于收到日期 {day}。"
BEFORE_REGISTRATION = "转介日期不能早于登记日期 {day}。"
WRONG_STATUS = "当前状态为“{status}”，不能进行此操作。"
REVIEW_BEFORE_START = "复评日期应晚于计划开始日期。"
PLAN_NEEDS_GOALS = "康复计划至少要有一个目标和一项服务。"
UNKNOWN_SCALE = "没有这个量表。"
ALREADY_AMENDED = "该评估已被更正过，请在最新的记录上更正。"
AMEND_NEEDS_REASON = "更正评估须说明原因。"
NOT_ENROLLED_HERE = "以下人员未在本机构建档或不在服务中，不能登记出勤：{names}。"
INDIVIDUAL_ONE = "个案服务只能有一名服务对象。"
NO_PATIENTS = "请至少登记一名参加的患者或家属。"
FAMILY_NEEDS_PATIENT = "家属须对应一名在本机构建档的患者。"
NEXT_TOO_LATE = "按随访规定，病情{stability}时下次随访不得晚于 {latest}。"
NEXT_NOT_AFTER = "下次随访日期应晚于本次随访日期。"
TRANSFER_TO_SELF = "不能转介给本机构。"
TRANSFER_WRONG_KIND = "“{kind}”应转给{target}。"
TRANSFER_OPEN = "已有一条发给“{org}”的待接收转介。"
TRANSFER_NEEDS_EMPLOYMENT = "转介就业须选择就业类型。"
TRANSFER_NOT_RECEIVER = "只有接收机构能答复该转介。"
TRANSFER_NOT_SENDER = "只有转出机构能撤回或记录用人单位的答复。"
DECLINE_TRANSFER_REASON = "拒绝转介须说明原因。"
EMERGENCY_REASON_MIN = 10
EMERGENCY_REASON = f"请写明紧急查阅的理由（至少 {EMERGENCY_REASON_MIN} 个字）。"
EMERGENCY_NOT_CLINICAL = "只有康复和临床人员能紧急查阅。"
NOT_REHAB_STAFF = "您不是康复机构或医疗机构的工作人员。"
PLACEMENT_DATES = "结束日期不能早于上岗日期。"
NEGATIVE = "金额不能为负数。"
PLACEMENT_TYPE = "请选择就业类型。"
TRAINING_HOURS = "学时应大于 0。"

_HOME_KINDS = (OrganisationKind.REHAB_INSTITUTION, OrganisationKind.PSYCHIATRIC_HOSPITAL)


def _today() -> dt.date:
    return timezone.localdate()


def _not_future(day: dt.date, field_name: str = "") -> None:
    if day > _today():
        raise ValidationError({field_name: FUTURE} if field_name else FUTURE)


def _district_of(org: Organisation) -> str:
    return org.region.ancestor(RegionLevel.DISTRICT)


def count(
    *, institution_id: int, district_id: str, day: dt.date, measure: str, key: str = "", n: int = 1
) -> None:
    """Add `n` to a monthly counter."""
    lookup = {"institution_id": institution_id, "month": month_start(day), "measure": measure, "key": key}
    _bump(MonthlyCount, lookup, district_id, n)


def _bump(model, lookup: dict[str, Any], district_id: str, n: int) -> None:
    """Add `n` to the counter row `lookup` names, creating it if need be; safe under concurrent writers
    (the insert yields to a row another writer made, the increment is one UPDATE)."""
    if n == 0:
        return
    model.objects.bulk_create([model(**lookup, district_id=district_id)], ignore_conflicts=True)
    model.objects.filter(**lookup).update(n=F("n") + n)


def _case_count(case: Case, day: dt.date, measure: str, key: str = "", n: int = 1) -> None:
    count(
        institution_id=case.institution_id,
        district_id=case.district_id,
        day=day,
        measure=measure,
        key=key,
        n=n,
    )


# ------------------------------------------------------------------ who may act


def require_home(actor: User) -> Organisation:
    access.require(actor, "runs_rehab")
    home = access.rehab_home(actor)
    if home is None:
        raise PermissionDenied(NOT_REHAB_STAFF)
    return home


def require_own_case(actor: User, case: Case) -> None:
    require_home(actor)
    if case.institution_id not in access.rehab_org_ids(actor):
        raise PermissionDenied(NOT_YOUR_CASE)


def _advance(model, pk: int, *, expected: Iterable[str], field_name: str = "status", **updates) -> None:
    changed = model.objects.filter(pk=pk, **{f"{field_name}__in": list(expected)}).update(**updates)
    if changed != 1:
        raise ValidationError(STATE_CHANGED, code="stale")


def _event(case: Case, status: str, on: dt.date, actor: User | None, reason: str = "") -> None:
    CaseEvent.objects.create(case=case, status=status, on=on, reason=reason[:300], by=actor)


# ------------------------------------------------------------------ applications (civil affairs)


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
        person = access.get_in_scope(Person.objects.select_for_update(), actor, pk=person.pk)
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


# ------------------------------------------------------------------ screening and enrolment


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
    for key in ("enrolled_on", "rights_explained_on", "agreement_signed_on"):
        value = getattr(data, key)
        if value is not None and value > _today():
            errors[key] = FUTURE
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


# ------------------------------------------------------------------ assessments


def current_scale(code: str) -> Scale:
    scale = Scale.objects.filter(code=code, is_current=True).first()
    if scale is None:
        raise ValidationError(UNKNOWN_SCALE)
    return scale


def assessment_submit(
    *,
    actor: User,
    case: Case,
    scale: Scale,
    assessed_on: dt.date,
    answers: dict[str, Any],
    informant: str = "",
    note: str = "",
) -> Assessment:
    require_own_case(actor, case)
    if case.status not in SERVED_STATES:
        raise ValidationError(NOT_SERVED.format(status=case.get_status_display()))
    _not_future(assessed_on, "assessed_on")
    if case.enrolled_on and assessed_on < case.enrolled_on:
        raise ValidationError({"assessed_on": BEFORE_ENROLMENT.format(day=case.enrolled_on)})
    result = scales.score(scale.definition, answers)
    with transaction.atomic():
        baseline = not Assessment.objects.filter(case=case, scale__code=scale.code).exists()
        assessment = Assessment.objects.create(
            case=case,
            district_id=case.district_id,
            scale=scale,
            assessed_on=assessed_on,
            informant=informant,
            answers=answers,
            total=result.total,
            band=result.band,
            band_label=result.band_label,
            is_baseline=baseline,
            note=note,
            by=actor,
        )
        if scale.code == "risk":
            _refresh_risk_level(case, assessment)
        _refresh_outcome(case, scale)
        _case_count(case, assessed_on, "assessments", scale.code)
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=assessment,
            person_id=case.person_id,
            summary=f"{scale.name}：{result.total}（{result.band_label}）",
        )
    return assessment


def assessment_amend(
    *, actor: User, original: Assessment, answers: dict[str, Any], reason: str
) -> Assessment:
    """A correction: a new assessment that amends the original, which is kept as it was."""
    case = original.case
    require_own_case(actor, case)
    if not reason.strip():
        raise ValidationError({"amend_reason": AMEND_NEEDS_REASON})
    result = scales.score(original.scale.definition, answers)
    with transaction.atomic():
        if Assessment.objects.filter(amends=original).exists():
            raise ValidationError(ALREADY_AMENDED)
        try:
            with transaction.atomic():
                amendment = Assessment.objects.create(
                    case=case,
                    district_id=original.district_id,
                    scale=original.scale,
                    assessed_on=original.assessed_on,
                    informant=original.informant,
                    answers=answers,
                    total=result.total,
                    band=result.band,
                    band_label=result.band_label,
                    is_baseline=original.is_baseline,
                    amends=original,
                    amend_reason=reason[:300],
                    note=original.note,
                    by=actor,
                )
        except IntegrityError:
            raise ValidationError(ALREADY_AMENDED) from None
        _refresh_outcome(case, original.scale)
        if original.scale.code == "risk":
            _refresh_risk_level(case, amendment)
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=amendment,
            person_id=case.person_id,
            summary=f"更正{original.scale.name}：{original.total} → {result.total}（{reason}）",
        )
    return amendment


def _latest_risk(case: Case, *, after: dt.date | None = None) -> Assessment | None:
    standing = Assessment.objects.filter(case=case, scale__code="risk", amended_by__isnull=True)
    if after is not None:
        standing = standing.filter(assessed_on__gt=after)
    return standing.order_by("-assessed_on", "-id").first()


def _refresh_risk_level(case: Case, assessment: Assessment) -> None:
    """The case shows the risk level of its latest risk assessment still standing: a correction of
    that one must correct the case too, and a late entry of an older one must not overwrite it."""
    latest = _latest_risk(case)
    # A follow-up dated after the assessment carries a newer risk level of its own.
    newer_follow_up = FollowUp.objects.filter(case=case, done_on__gt=assessment.assessed_on).exists()
    if latest is not None and latest.pk == assessment.pk and not newer_follow_up:
        level = int(assessment.total)
        updates: dict[str, Any] = {"risk_level": level}
        if level >= 3:
            # Risk 3–5 makes the person unstable whatever the last follow-up said, and the rule's
            # two weeks run from the assessment (an earlier date already due stays).
            updates["stability"] = Stability.UNSTABLE
            soon = assessment.assessed_on + dt.timedelta(days=follow_up_interval(Stability.UNSTABLE))
            current = Case.objects.filter(pk=case.pk).values_list("next_follow_up_on", flat=True).first()
            if current is None or current > soon:
                updates["next_follow_up_on"] = soon
        Case.objects.filter(pk=case.pk).update(**updates)


def _refresh_outcome(case: Case, scale: Scale) -> None:
    """Baseline against latest for the case and scale, counting only assessments not amended; the
    institution's outcome counters move with it."""
    # One writer per case at a time, so that the outcome read here is the one the counters hold.
    Case.objects.select_for_update().filter(pk=case.pk).values_list("pk").first()
    before = (
        CaseOutcome.objects.filter(case=case, scale_code=scale.code).values_list("outcome", flat=True).first()
    )
    current = Assessment.objects.filter(case=case, scale__code=scale.code, amended_by__isnull=True)
    baseline = current.filter(is_baseline=True).select_related("scale").order_by("assessed_on", "id").first()
    if baseline is None:
        return
    # Scores of two versions of a scale are not on one ruler: compare within the baseline's version.
    latest = current.filter(scale_id=baseline.scale_id).order_by("-assessed_on", "-id").first()
    result = (
        ""
        if baseline.pk == latest.pk
        else scales.compare(
            baseline.scale.definition, baseline.answers, baseline.total, latest.answers, latest.total
        )[1]
    )
    CaseOutcome.objects.update_or_create(
        case=case,
        scale_code=scale.code,
        defaults={
            "institution_id": case.institution_id,
            "district_id": case.district_id,
            "baseline": baseline,
            "latest": latest,
            "outcome": result,
        },
    )
    if before != result:
        for outcome, n in ((before, -1), (result, 1)):
            if outcome:
                _count_outcome(case, scale.code, outcome, n)


def _count_outcome(case: Case, scale_code: str, outcome: str, n: int) -> None:
    lookup = {"institution_id": case.institution_id, "scale_code": scale_code, "outcome": outcome}
    _bump(OutcomeCount, lookup, case.district_id, n)


# ------------------------------------------------------------------ plans


@dataclass
class PlanData:
    starts_on: dt.date
    review_on: dt.date
    summary: str
    goals: list[dict[str, str]]  # problem, scale_item, goal
    services: list[dict[str, Any]]  # service_type, times, per, place, worker (User or None)
    basis: list[int] = field(default_factory=list)


def plan_create(*, actor: User, case: Case, data: PlanData) -> Plan:
    """A new version of the personal plan; the previous version is kept and marked superseded."""
    require_own_case(actor, case)
    if case.status not in SERVED_STATES:
        raise ValidationError(NOT_SERVED.format(status=case.get_status_display()))
    if data.review_on <= data.starts_on:
        raise ValidationError({"review_on": REVIEW_BEFORE_START})
    goals = [g for g in data.goals if g.get("goal", "").strip()]
    services = [s for s in data.services if s.get("service_type")]
    if not goals or not services:
        raise ValidationError(PLAN_NEEDS_GOALS)
    home = access.rehab_home(actor)
    for s in services:
        if s.get("worker") is not None and access.rehab_home(s["worker"]) != home:
            raise ValidationError("服务负责人须是本机构的工作人员。")
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        last = Plan.objects.filter(case=locked).order_by("-version").first()
        Plan.objects.filter(case=locked, is_current=True).update(is_current=False)
        plan = Plan.objects.create(
            case=locked,
            version=(last.version + 1) if last else 1,
            starts_on=data.starts_on,
            review_on=data.review_on,
            summary=data.summary,
            by=actor,
        )
        PlanGoal.objects.bulk_create(
            PlanGoal(
                plan=plan,
                problem=g.get("problem", "")[:200],
                scale_item=g.get("scale_item", "")[:60],
                goal=g["goal"][:300],
            )
            for g in goals
        )
        PlanService.objects.bulk_create(
            PlanService(
                plan=plan,
                service_type=s["service_type"],
                times=s.get("times") or 1,
                per=s.get("per") or "week",
                place=s.get("place") or "site",
                worker=s.get("worker"),
            )
            for s in services
        )
        if data.basis:
            plan.basis.set(Assessment.objects.filter(case=locked, pk__in=data.basis))
        Case.objects.filter(pk=case.pk).update(plan_review_on=data.review_on)
        _activate(locked, data.starts_on, actor, "制订康复计划")
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=plan,
            person_id=case.person_id,
            summary=f"康复计划第 {plan.version} 版，复评日期 {data.review_on}",
        )
    return plan


# ------------------------------------------------------------------ services delivered


@dataclass
class ActivityData:
    form: str
    service_type: str
    mode: str
    title: str
    held_on: dt.date
    place: str = ""
    content: str = ""
    site: Organisation | None = None
    leader: User | None = None
    patients: list[int] = field(default_factory=list)  # case ids
    family: list[dict[str, Any]] = field(default_factory=list)  # case (id), name, relation


def _attendees(
    actor: User, data: ActivityData, institution_ids: list[int]
) -> tuple[dict[int, Case], list[str]]:
    wanted = set(data.patients) | {int(f["case"]) for f in data.family if f.get("case")}
    cases = {c.pk: c for c in Case.objects.filter(pk__in=wanted).select_related("person")}
    bad = []
    for pk in sorted(wanted):
        case = cases.get(pk)
        if (
            case is None
            or case.institution_id not in institution_ids
            or case.status not in ("enrolled", "active")
            or (case.enrolled_on and case.enrolled_on > data.held_on)
        ):
            bad.append(
                case.person.name
                if case is not None and case.institution_id in institution_ids
                else f"档案 {pk}"
            )
    return cases, bad


def activity_record(*, actor: User, data: ActivityData) -> Activity:
    home = require_home(actor)
    ids = access.rehab_org_ids(actor)
    _not_future(data.held_on, "held_on")
    # Family members alone are a session too (carer training, a talk for families), counted as
    # family people-times; a patient's own service needs the patient there.
    if not data.patients and not data.family:
        raise ValidationError(NO_PATIENTS)
    if data.form == ActivityForm.INDIVIDUAL and len(set(data.patients)) != 1:
        raise ValidationError(INDIVIDUAL_ONE)
    if any(not f.get("case") for f in data.family):
        raise ValidationError(FAMILY_NEEDS_PATIENT)
    if data.site is not None and data.site.pk not in ids:
        raise ValidationError({"site": "站点须是本机构的站点。"})
    cases, bad = _attendees(actor, data, ids)
    if bad:
        raise ValidationError(NOT_ENROLLED_HERE.format(names="、".join(bad)))
    patients = sorted(set(data.patients))
    with transaction.atomic():
        activity = Activity.objects.create(
            institution=home,
            district_id=_district_of(home),
            site=data.site,
            form=data.form,
            service_type=data.service_type,
            mode=data.mode,
            title=data.title,
            held_on=data.held_on,
            place=data.place,
            content=data.content,
            leader=data.leader or actor,
            patients=len(patients),
            family=len(data.family),
        )
        Attendance.objects.bulk_create(
            [Attendance(activity=activity, case_id=pk) for pk in patients]
            + [
                Attendance(
                    activity=activity,
                    case_id=int(f["case"]),
                    is_family=True,
                    family_name=str(f.get("name", ""))[:50],
                    family_relation=str(f.get("relation", ""))[:20],
                )
                for f in data.family
            ]
        )
        _activity_counts(activity, 1)
        Case.objects.filter(pk__in=patients).filter(
            Q(last_service_on__isnull=True) | Q(last_service_on__lt=data.held_on)
        ).update(last_service_on=data.held_on)
        _activate_many([cases[pk] for pk in patients], data.held_on, actor, "开始接受服务")
        # One row per person attended (or whose family attended), so that a person's audit trail
        # shows every service recorded about them, as it does for every other write.
        summary = f"{activity.get_form_display()}“{activity.title}”：患者 {len(patients)} 人次，家属 {len(data.family)} 人次"
        audit.record_many(
            actor=actor,
            action=AuditAction.CREATE,
            rows=[(activity, pid) for pid in sorted({case.person_id for case in cases.values()})],
            summary=summary,
        )
    return activity


def _activity_counts(activity: Activity, sign: int) -> None:
    common = {
        "institution_id": activity.institution_id,
        "district_id": activity.district_id,
        "day": activity.held_on,
    }
    count(**common, measure="activities", key=activity.service_type, n=sign)
    count(**common, measure="patient_times", key=activity.service_type, n=sign * activity.patients)
    count(**common, measure="family_times", key=activity.service_type, n=sign * activity.family)
    count(**common, measure="forms", key=activity.form, n=sign)


def activity_photo_add(*, actor: User, activity: Activity, image, caption: str = "") -> ActivityPhoto:
    require_home(actor)
    if activity.institution_id not in access.rehab_org_ids(actor):
        raise PermissionDenied(NOT_YOUR_CASE)
    from kangfu.core.uploads import check_image_upload

    check_image_upload(image)
    with transaction.atomic():
        photo = ActivityPhoto.objects.create(activity=activity, image=image, caption=caption[:100])
        audit.record(
            actor=actor, action=AuditAction.CREATE, obj=photo, summary=f"上传活动照片：{activity.title}"
        )
    return photo


# ------------------------------------------------------------------ follow-ups


def follow_up_interval(stability: str) -> int:
    """Days until the next follow-up at the latest (国家基本公共卫生服务规范): two weeks while unstable
    or basically stable, three months when stable; never less than four a year."""
    return 14 if stability in (Stability.UNSTABLE, Stability.BASIC) else 91


def stability_for(stability: str, risk_level: int, insight: str = "") -> str:
    """The risk level and insight set a floor (服务规范): risk 3–5 or no insight is unstable; risk 1–2
    or partial insight is at best basically stable. The worker's judgement can only be stricter."""
    if risk_level >= 3 or insight == Insight.NONE:
        return Stability.UNSTABLE
    if (risk_level >= 1 or insight == Insight.PARTIAL) and stability == Stability.STABLE:
        return Stability.BASIC
    return stability


@dataclass
class FollowUpData:
    done_on: dt.date
    mode: str
    stability: str
    risk_level: int
    adherence: str
    insight: str
    incidents: list[str] = field(default_factory=list)
    note: str = ""
    next_on: dt.date | None = None


def follow_up_record(*, actor: User, case: Case, data: FollowUpData) -> FollowUp:
    require_own_case(actor, case)
    if case.status not in SERVED_STATES:
        raise ValidationError(NOT_SERVED.format(status=case.get_status_display()))
    _not_future(data.done_on, "done_on")
    if case.enrolled_on and data.done_on < case.enrolled_on:
        raise ValidationError({"done_on": BEFORE_ENROLMENT.format(day=case.enrolled_on)})
    if not 0 <= data.risk_level <= 5:
        raise ValidationError({"risk_level": "危险性等级为 0–5 级。"})
    stability = stability_for(data.stability, data.risk_level, data.insight)
    latest = data.done_on + dt.timedelta(days=follow_up_interval(stability))
    next_on = data.next_on or latest
    if next_on <= data.done_on:
        raise ValidationError({"next_on": NEXT_NOT_AFTER})
    if next_on > latest:
        raise ValidationError(
            {"next_on": NEXT_TOO_LATE.format(stability=Stability(stability).label, latest=latest.isoformat())}
        )
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        follow_up = FollowUp.objects.create(
            case=locked,
            district_id=locked.district_id,
            due_on=locked.next_follow_up_on,
            done_on=data.done_on,
            mode=data.mode,
            stability=stability,
            risk_level=data.risk_level,
            adherence=data.adherence,
            insight=data.insight,
            incidents=list(data.incidents),
            note=data.note,
            next_on=next_on,
            by=actor,
        )
        newest = not FollowUp.objects.filter(case=locked, done_on__gt=data.done_on).exists()
        if newest:
            risk, current, due = data.risk_level, stability, next_on
            later = _latest_risk(locked, after=data.done_on)
            if later is not None:
                # A risk assessment made after this follow-up (entered late) is the newer word on risk.
                risk = int(later.total)
                current = stability_for(stability, risk, data.insight)
                if risk >= 3:
                    due = min(
                        due, later.assessed_on + dt.timedelta(days=follow_up_interval(Stability.UNSTABLE))
                    )
            Case.objects.filter(pk=case.pk).update(stability=current, risk_level=risk, next_follow_up_on=due)
        _case_count(locked, data.done_on, "follow_ups")
        if follow_up.due_on and data.done_on > follow_up.due_on:
            _case_count(locked, data.done_on, "follow_ups_late")
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=follow_up,
            person_id=case.person_id,
            summary=f"随访：{Stability(stability).label}，危险性 {data.risk_level} 级，下次 {next_on}",
        )
    return follow_up


# ------------------------------------------------------------------ referrals between institutions

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
        # A hospital refers its own patient, found in the registry by the worker's jurisdiction.
        access.get_in_scope(Person.objects.all(), actor, pk=person.pk)
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


# ------------------------------------------------------------------ placements


@dataclass
class PlacementData:
    employer: str
    employment_type: str
    job: str
    starts_on: dt.date
    ends_on: dt.date | None = None
    monthly_subsidy: Decimal = Decimal("0")
    outcome: str = PlacementOutcome.ONGOING
    note: str = ""


def placement_save(
    *, actor: User, case: Case, data: PlacementData, placement: Placement | None = None
) -> Placement:
    require_own_case(actor, case)
    if data.employment_type not in EmploymentType.values:
        raise ValidationError({"employment_type": PLACEMENT_TYPE})
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise ValidationError({"ends_on": PLACEMENT_DATES})
    if data.monthly_subsidy < 0:
        raise ValidationError({"monthly_subsidy": NEGATIVE})
    with transaction.atomic():
        if placement is None:
            placement = Placement.objects.create(case=case, district_id=case.district_id, **data.__dict__)
            count(
                institution_id=case.institution_id,
                district_id=case.district_id,
                day=data.starts_on,
                measure="placements",
                key=data.employment_type,
            )
            action = AuditAction.CREATE
        else:
            # Read it again, locked: the counter correction below needs what is stored, not what the
            # caller's copy says.
            placement = Placement.objects.select_for_update().get(pk=placement.pk)
            if placement.case_id != case.pk:
                raise PermissionDenied(NOT_YOUR_CASE)
            before = (placement.starts_on, placement.employment_type)
            for key, value in data.__dict__.items():
                setattr(placement, key, value)
            placement.save()
            if before != (data.starts_on, data.employment_type):
                # The counter is by start month and type: a corrected start or type moves it.
                common = {"institution_id": case.institution_id, "district_id": case.district_id}
                count(**common, day=before[0], measure="placements", key=before[1], n=-1)
                count(**common, day=data.starts_on, measure="placements", key=data.employment_type)
            action = AuditAction.UPDATE
        audit.record(
            actor=actor,
            action=action,
            obj=placement,
            person_id=case.person_id,
            summary=f"{placement.get_employment_type_display()}：{placement.employer} {placement.job}（{placement.get_outcome_display()}）",
        )
    return placement


# ------------------------------------------------------------------ institutions and staff


def institution_profile_save(
    *, actor: User, organisation: Organisation, values: dict[str, Any]
) -> InstitutionProfile:
    _own_org(actor, organisation)
    with transaction.atomic():
        profile, created = InstitutionProfile.objects.update_or_create(
            organisation=organisation, defaults=values
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            obj=profile,
            summary=f"机构登记：{organisation.name}",
        )
    return profile


def _own_org(actor: User, organisation: Organisation) -> None:
    if organisation.pk not in access.rehab_org_ids(actor):
        region = actor.jurisdiction
        if not (
            access.policy(actor).rehab_intake
            and region is not None
            and region.contains(organisation.region_id)
        ):
            raise PermissionDenied(access.NOT_ALLOWED)


def staff_save(
    *, actor: User, organisation: Organisation, values: dict[str, Any], staff: StaffMember | None = None
) -> StaffMember:
    _own_org(actor, organisation)
    with transaction.atomic():
        if staff is None:
            staff = StaffMember.objects.create(organisation=organisation, **values)
            action = AuditAction.CREATE
        else:
            for key, value in values.items():
                setattr(staff, key, value)
            staff.save()
            action = AuditAction.UPDATE
        audit.record(actor=actor, action=action, obj=staff, summary=f"专业人员：{staff.name}")
    return staff


def training_add(
    *, actor: User, staff: StaffMember, held_on: dt.date, hours: Decimal, topic: str, provider: str = ""
) -> Training:
    _own_org(actor, staff.organisation)
    if hours <= 0:
        raise ValidationError({"hours": TRAINING_HOURS})
    _not_future(held_on, "held_on")
    with transaction.atomic():
        training = Training.objects.create(
            staff=staff, held_on=held_on, hours=hours, topic=topic, provider=provider
        )
        audit.record(
            actor=actor, action=AuditAction.CREATE, obj=training, summary=f"培训 {hours} 学时：{staff.name}"
        )
    return training


# ------------------------------------------------------------------ break the glass


def emergency_open(*, actor: User, person: Person, reason: str) -> EmergencyAccess:
    """A clinician opens a record outside their scope, stating why. Audited and shown to the
    institutions that serve the person."""
    if not access.policy(actor).reads_clinical or access.rehab_home(actor) is None:
        raise PermissionDenied(EMERGENCY_NOT_CLINICAL)
    if len(reason.strip()) < EMERGENCY_REASON_MIN:
        raise ValidationError({"reason": EMERGENCY_REASON})
    with transaction.atomic():
        grant = EmergencyAccess.objects.create(
            user=actor,
            person=person,
            reason=reason.strip()[:300],
            expires_at=timezone.now() + dt.timedelta(hours=EMERGENCY_HOURS),
        )
        audit.record(
            actor=actor,
            action=AuditAction.REVEAL,
            obj=grant,
            person_id=person.pk,
            summary=f"紧急查阅精康档案：{grant.reason}",
        )
    return grant


# ------------------------------------------------------------------ counters


def recount(*, district_id: str | None = None) -> int:
    """Rebuild the monthly counters from the rows they count, set-based (after a bulk load or to repair)."""
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth

    with transaction.atomic():
        counters = MonthlyCount.objects.all()
        if district_id:
            counters = counters.filter(district_id=district_id)
        counters.delete()
        rows: dict[tuple, int] = {}

        def add(qs, day_field: str, measure: str, key_field: str | None = None, value=None) -> None:
            if district_id:
                qs = qs.filter(district_id=district_id)
            fields = ["institution_id", "district_id", "m"] + ([key_field] if key_field else [])
            for row in (
                qs.annotate(m=TruncMonth(day_field))
                .values(*fields)
                .annotate(n=value or Count("id"))
                .order_by()
            ):
                key = (
                    row["institution_id"],
                    row["district_id"],
                    row["m"],
                    measure,
                    str(row[key_field]) if key_field else "",
                )
                rows[key] = rows.get(key, 0) + (row["n"] or 0)

        cases = Case.objects.all()
        add(cases, "referred_on", "referred")
        add(cases.exclude(screened_on=None), "screened_on", "screened")
        add(cases.filter(status=CaseStatus.DECLINED), "screened_on", "declined", "decline_reason")
        add(cases.exclude(enrolled_on=None), "enrolled_on", "enrolled")
        add(cases.filter(status=CaseStatus.DISCHARGED), "discharged_on", "discharged", "discharge_reason")
        activities = Activity.objects.all()
        add(activities, "held_on", "activities", "service_type")
        add(activities, "held_on", "patient_times", "service_type", Sum("patients"))
        add(activities, "held_on", "family_times", "service_type", Sum("family"))
        add(activities, "held_on", "forms", "form")
        add(FollowUp.objects.annotate(institution_id=F("case__institution_id")), "done_on", "follow_ups")
        add(
            FollowUp.objects.filter(due_on__lt=F("done_on")).annotate(
                institution_id=F("case__institution_id")
            ),
            "done_on",
            "follow_ups_late",
        )
        add(
            # A correction replaces an assessment; the services count only the original.
            Assessment.objects.filter(amends__isnull=True).annotate(
                institution_id=F("case__institution_id"), code=F("scale__code")
            ),
            "assessed_on",
            "assessments",
            "code",
        )
        add(Transfer.objects.annotate(institution_id=F("from_org_id")), "sent_on", "transfers_sent", "kind")
        add(
            Placement.objects.annotate(institution_id=F("case__institution_id")),
            "starts_on",
            "placements",
            "employment_type",
        )
        objs = [
            MonthlyCount(
                institution_id=i,
                district_id=d,
                month=m.date() if isinstance(m, dt.datetime) else m,
                measure=meas,
                key=k,
                n=n,
            )
            for (i, d, m, meas, k), n in rows.items()
            if n
        ]
        MonthlyCount.objects.bulk_create(objs, batch_size=2000)
        outcomes = OutcomeCount.objects.all()
        if district_id:
            outcomes = outcomes.filter(district_id=district_id)
        outcomes.delete()
        sources = CaseOutcome.objects.exclude(outcome="")
        if district_id:
            sources = sources.filter(district_id=district_id)
        OutcomeCount.objects.bulk_create(
            [
                OutcomeCount(**row)
                for row in sources.values("institution_id", "district_id", "scale_code", "outcome")
                .annotate(n=Count("id"))
                .order_by()
            ],
            batch_size=2000,
        )
        # The register is kept by the roster import; each case's copy of it is derived, so repair it too.
        # Only the rows that differ: rewriting every case would cost PostgreSQL its index-only scans
        # until the next vacuum.
        scoped = Case.objects.filter(district_id=district_id) if district_id else Case.objects.all()
        register = RegisteredPerson.objects.filter(person_id=OuterRef("person_id"))
        listed_in = Subquery(register.values("district_id")[:1])
        scoped.filter(Exists(register)).exclude(roster_district_id=listed_in).update(
            roster_district_id=listed_in
        )
        scoped.filter(roster_district__isnull=False).exclude(Exists(register)).update(roster_district=None)
    return len(objs)
