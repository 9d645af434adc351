"""Applications and the approval chain (社区受理 → 街道审核 → 县级残联审核 → 区民政局审批), as a state
machine. Each region's policy says which of the steps it takes; the district's approval is always one.

Each decision is a conditional update of the application's status and version, so two approvers
acting at once cannot both succeed, and no step can be taken before the one below it.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kangfu.core import access, audit, events
from kangfu.core.ids import normalize_id_number, normalize_phone
from kangfu.core.models import AuditAction, RegionLevel, User
from kangfu.core.months import month_start
from kangfu.core.transitions import Conflict, advance
from kangfu.people.models import Person
from kangfu.people.selectors import person_by_id_number
from kangfu.people.services import PersonData, id_hash, person_create
from kangfu.subsidies.models import (
    Application,
    ApplicationStatus,
    ApplicationStep,
    Channel,
    Decision,
    Document,
    Kind,
    PayFrom,
    Step,
)
from kangfu.subsidies.services import facts
from kangfu.subsidies.services.grants import grant_start

NO_KIND = "请至少选择一项补贴。"
BAD_ACCOUNT = "银行账号应为 10 至 30 位数字。"
ALREADY_OPEN = "该申请人已有办理中的申请（{number}），请勿重复提交。"
TAKEN = "该申请已被他人处理或已变化，请刷新后查看。"
NOT_YOUR_STEP = "该申请当前在“{step}”环节，您的岗位不能办理。"
SAME_PERSON = "提交人不能审批自己提交的申请（职责分离）。"
ANOTHER_COLLEAGUE = "须由本社区另一名工作人员受理（提交人不能受理自己提交的申请）。"
NOT_ELIGIBLE = "不符合条件，不能批准：{reasons}"
NEEDS_OPINION = "退回或不予批准须填写原因。"
NOT_RETURNED = "只有退回补正的申请可以重新提交。"
NOT_AT_COUNTER = "窗口受理由社区办理。"
BAD_DECISION = "结论应为通过、退回补正或不予批准。"
BATCH_REFUSED = "以下 {n} 件未能办理，本次勾选的申请均未办理：{items}"
NOTHING_CHOSEN = "请先勾选要办理的申请。"
DECISIONS = (Decision.PASS, Decision.RETURN, Decision.REJECT)

ORDER = [Step.COMMUNITY, Step.STREET, Step.COUNTY, Step.DISTRICT]
# The status that says a step was passed, when a later step follows it.
PASSED = {
    Step.COMMUNITY: ApplicationStatus.COMMUNITY_ACCEPTED,
    Step.STREET: ApplicationStatus.STREET_REVIEWED,
    Step.COUNTY: ApplicationStatus.COUNTY_REVIEWED,
}


def steps_for(district: str) -> list[str]:
    """The region's chain, in the order of 国发〔2015〕52号; the district's approval is never left out."""
    configured = {s.strip() for s in facts.policy_for(district).steps.split(",") if s.strip()}
    return [s for s in ORDER if s in configured or s == Step.DISTRICT]


def current_step(application: Application) -> str | None:
    """The step an application waits for, or None when no one has to act (approved, returned …)."""
    return application.waiting_step or None


def _next_step(step: str, chain: list[str]) -> str:
    later = [s for s in chain if ORDER.index(s) > ORDER.index(step)]
    return later[0] if later else ""


@dataclass(frozen=True)
class Applicant:
    """What an applicant (or the clerk at the counter) types."""

    name: str
    id_number: str
    phone: str
    hukou_community: str  # the household registration, where the application is handled
    address: str = ""


@dataclass(frozen=True)
class ApplicationData:
    living: bool
    care: bool
    bank_name: str
    bank_account: str
    agent_name: str = ""
    agent_relation: str = ""


def _find_or_register(applicant: Applicant) -> Person:
    number = normalize_id_number(applicant.id_number, today=timezone.localdate()).number
    person = person_by_id_number(number)
    if person is not None:
        return person
    # A first-time applicant is put on the registry where the household is registered; the
    # community verifies them at its step.
    return person_create(
        actor=None,
        data=PersonData(
            name=applicant.name,
            id_number=number,
            community_code=applicant.hukou_community,
            phone=applicant.phone,
            address=applicant.address,
            hukou_region_code=applicant.hukou_community,
        ),
    )


def application_submit(
    *,
    actor: User | None,
    applicant: Applicant,
    data: ApplicationData,
    documents: list[tuple[str, object]] = (),
    applied_on: dt.date | None = None,
) -> Application:
    """File an application at the counter (`actor` a community worker) or online (`actor` None).

    It is routed to the community of the household registration wherever it was filed (跨省通办).
    """
    errors: dict[str, list[str]] = {}
    if not (data.living or data.care):
        errors["kinds"] = [NO_KIND]
    account = re.sub(r"\s+", "", data.bank_account or "")
    if not re.fullmatch(r"\d{10,30}", account):
        errors["bank_account"] = [BAD_ACCOUNT]
    try:
        phone = normalize_phone(applicant.phone)
    except ValidationError as exc:
        errors["phone"] = exc.messages
    try:
        normalize_id_number(applicant.id_number, today=timezone.localdate())
    except ValidationError as exc:
        errors["id_number"] = exc.messages
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            person = _find_or_register(applicant)
            community = facts.hukou_community(person)
            application = Application.objects.create(
                number=secrets.token_hex(9),
                person=person,
                living=data.living,
                care=data.care,
                channel=Channel.COUNTER if actor is not None else Channel.ONLINE,
                agent_name=data.agent_name,
                agent_relation=data.agent_relation,
                phone=phone,
                bank_name=data.bank_name,
                bank_account=account,
                community=community,
                street_id=community.ancestor(RegionLevel.STREET),
                district_id=community.ancestor(RegionLevel.DISTRICT),
                applied_on=applied_on or timezone.localdate(),
                waiting_step=steps_for(community.ancestor(RegionLevel.DISTRICT))[0],
                submitted_by=actor,
            )
            application.number = f"SB{application.applied_on:%Y%m%d}{application.pk:05d}"
            Application.objects.filter(pk=application.pk).update(number=application.number)
            for label, upload in documents:
                Document.objects.create(application=application, label=label, file=upload)
            ApplicationStep.objects.create(
                application=application,
                decision=Decision.SUBMIT,
                actor=actor,
                opinion="窗口受理" if actor is not None else "市民在线申请",
            )
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=application,
                person_id=person.pk,
                summary=f"{person.name} 申请{'、'.join(Kind(k).label for k in application.kinds)}（{application.number}）",
            )
    except IntegrityError:
        number = normalize_id_number(applicant.id_number).number
        open_app = (
            Application.objects.filter(person__id_number_hash=id_hash(number))
            .exclude(status__in=[ApplicationStatus.APPROVED, ApplicationStatus.REJECTED])
            .first()
        )
        if open_app is None:
            raise
        raise ValidationError(ALREADY_OPEN.format(number=open_app.number)) from None
    return application


def check_may_file(actor: User) -> None:
    """Only the community (社区受理) files an application at the counter; anyone may file online."""
    if access.policy(actor).subsidy_step != Step.COMMUNITY:
        raise PermissionDenied(NOT_AT_COUNTER)


def may_decide(actor: User, application: Application) -> bool:
    """Whether `actor` may decide the step the application waits for now. The one who filed it may
    hold the step's post and still not pass it (separation of duties), so a page never offers them a
    decision that would be refused."""
    step = current_step(application)
    return step is not None and _may_act(actor, application, step) and application.submitted_by_id != actor.pk


def who_must_act(actor: User, application: Application) -> str:
    """Who must take the step instead of `actor`, when `actor` holds its post but filed the
    application; empty otherwise (the page's heading already names the step waited for)."""
    step = current_step(application)
    if step is not None and _may_act(actor, application, step) and application.submitted_by_id == actor.pk:
        return ANOTHER_COLLEAGUE
    return ""


def _may_act(actor: User, application: Application, step: str) -> bool:
    if access.policy(actor).subsidy_step != step:
        return False
    region = {
        Step.COMMUNITY: application.community_id,
        Step.STREET: application.street_id,
        Step.COUNTY: application.district_id,  # the county 残联 of the district
        Step.DISTRICT: application.district_id,
    }[step]
    return access.region_in_jurisdiction(actor, region)


def application_decide(
    *,
    actor: User,
    application: Application,
    decision: str,
    opinion: str = "",
    today: dt.date | None = None,
    version: int | None = None,
) -> Application:
    """Pass, return for correction or reject at the step the application waits for. `version` is the
    one the decider saw (a page's hidden field, an API client's copy): if the application has moved
    since (a double click, a colleague first), nothing happens and `Conflict` says so."""
    if decision not in DECISIONS:
        raise ValidationError({"decision": [BAD_DECISION]})
    if version is not None and version != application.version:
        raise Conflict(TAKEN)
    step = current_step(application)
    if step is None:
        raise Conflict(TAKEN)
    if not _may_act(actor, application, step):
        raise PermissionDenied(NOT_YOUR_STEP.format(step=Step(step).label))
    if decision in (Decision.RETURN, Decision.REJECT) and not opinion.strip():
        raise ValidationError({"opinion": [NEEDS_OPINION]})
    if decision == Decision.PASS and application.submitted_by_id == actor.pk:
        raise PermissionDenied(SAME_PERSON)
    today = today or timezone.localdate()
    explanations = [
        facts.explain(person=application.person, kind=kind, on=today, district=application.district_id)
        for kind in application.kinds
    ]
    following = _next_step(step, steps_for(application.district_id))
    final = not following
    if decision == Decision.PASS and final and not any(e.ok for e in explanations):
        reasons = "；".join(v.message for e in explanations for v in e.verdicts if not v.ok)
        raise ValidationError(NOT_ELIGIBLE.format(reasons=reasons))
    new_status = {
        Decision.PASS: ApplicationStatus.APPROVED if final else PASSED[step],
        Decision.RETURN: ApplicationStatus.RETURNED,
        Decision.REJECT: ApplicationStatus.REJECTED,
    }[Decision(decision)]
    with transaction.atomic():
        advance(
            Application.objects.filter(pk=application.pk, waiting_step=step),
            expected=application.status,
            version=application.version,
            message=TAKEN,
            status=new_status,
            waiting_step=following if decision == Decision.PASS else "",
            status_note=opinion if decision != Decision.PASS else "",
        )
        ApplicationStep.objects.create(
            application=application,
            step=step,
            decision=decision,
            opinion=opinion,
            actor=actor,
            eligibility=[{"kind": e.kind, "verdicts": e.as_json()} for e in explanations],
        )
        if new_status == ApplicationStatus.APPROVED:
            policy = facts.policy_for(application.district_id)
            start = month_start(application.applied_on if policy.pay_from == PayFrom.APPLICATION else today)
            cert = facts.valid_certificate(application.person, today)
            for explanation in explanations:
                if explanation.ok:
                    grant_start(
                        actor=actor,
                        application=application,
                        kind=explanation.kind,
                        start_month=start,
                        grade=cert.grade,
                        category=cert.category,
                    )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=application,
            person_id=application.person_id,
            summary=f"申请 {application.number}：{Step(step).label} {Decision(decision).label}",
            changes={"status": [application.status, new_status]},
        )
        events.record(
            kind="subsidies.application.decided",
            subject=application,
            district=application.district_id,
            payload={
                "number": application.number,
                "person": application.person_id,
                "step": step,
                "decision": decision,
                "status": new_status,
            },
        )
    application.refresh_from_db()
    return application


class BatchRefused(ValidationError):
    """Some applications of a batch could not be passed, so none was: `refused` names each with its
    reason, and the message says so in one sentence."""

    def __init__(self, refused: list[tuple[Application, str]]):
        self.refused = refused
        items = "；".join(f"{a.number}（{a.person.name}）：{reason}" for a, reason in refused)
        super().__init__(BATCH_REFUSED.format(n=len(refused), items=items))


def application_pass_many(
    *,
    actor: User,
    applications: list[tuple[Application, int | None]],
    opinion: str = "",
    today: dt.date | None = None,
) -> list[Application]:
    """Pass a batch at the step each waits for, all or nothing: each goes through `application_decide`
    (its rights, separation of duties, its conditional update against the version the clerk saw and
    its audit row) inside one transaction, and if any is refused, every refusal is reported and no
    application of the batch changes."""
    if not applications:
        raise ValidationError(NOTHING_CHOSEN)
    refused: list[tuple[Application, str]] = []
    passed: list[Application] = []
    with transaction.atomic():
        for application, version in applications:
            try:
                # A savepoint per application, so that the others are still tried and every
                # refusal can be named; the batch is undone below if any was refused.
                with transaction.atomic():
                    passed.append(
                        application_decide(
                            actor=actor,
                            application=application,
                            decision=Decision.PASS,
                            opinion=opinion,
                            today=today,
                            version=version,
                        )
                    )
            except (ValidationError, PermissionDenied) as exc:
                reason = "；".join(getattr(exc, "messages", None) or [str(exc)])
                refused.append((application, reason))
        if refused:
            raise BatchRefused(refused)
    return passed


def application_resubmit(
    *, actor: User | None, application: Application, bank_name: str = "", bank_account: str = ""
) -> Application:
    """After a return for correction, the community (or the applicant) sends it in again."""
    with transaction.atomic():
        updates: dict = {
            "status": ApplicationStatus.SUBMITTED,
            "waiting_step": steps_for(application.district_id)[0],
            "status_note": "",
        }
        if bank_name:
            updates["bank_name"] = bank_name
        advance(
            Application.objects.filter(pk=application.pk),
            expected=ApplicationStatus.RETURNED,
            version=application.version,
            message=NOT_RETURNED,
            **updates,
        )
        if bank_account:
            application.refresh_from_db()
            application.bank_account = re.sub(r"\s+", "", bank_account)
            application.save(update_fields=["bank_account"])
        ApplicationStep.objects.create(
            application=application, decision=Decision.RESUBMIT, actor=actor, opinion="补正后重新提交"
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=application,
            person_id=application.person_id,
            summary=f"申请 {application.number} 补正后重新提交",
        )
    application.refresh_from_db()
    return application
