"""满意度: entering a service user's or a family's survey form for a case, from paper or through a
one-use link the person fills in on a phone. Both go through `_survey_save`, so a phone answer is
checked, limited to one per case, respondent and year, and counted exactly as a paper one."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kangfu.core import audit
from kangfu.core.models import AuditAction, User
from kangfu.core.transitions import Conflict
from kangfu.rehab.models import (
    SCORED_FIELDS,
    SERVED_STATES,
    Case,
    CaseStatus,
    Respondent,
    SatisfactionSurvey,
    SurveyChannel,
    SurveyLink,
)
from kangfu.rehab.services.common import BEFORE_ENROLMENT, _not_future, require_own_case

NOT_SERVED_YET = "该人员尚未接受服务（{status}），不能调查满意度。"
ALREADY = "{year} 年已录入{respondent}的满意度问卷（可能已被他人录入），不能重复录入。"
SCORE = "请选择 1–5 分。"
LINK_UNKNOWN = "该问卷链接无效，请向为您提供服务的机构索取新的链接。"
LINK_USED = "该问卷已经填写过了，感谢您的参与。"
LINK_EXPIRED = "该问卷链接已于 {day} 过期，请向为您提供服务的机构索取新的链接。"
LINK_DAYS = 14  # a link is valid this many days after it is made
TOKEN_BYTES = 32  # 256 random bits: guessing a live link is hopeless, however many tries


class LinkRefused(ValidationError):
    """The link cannot be used: unknown, already used or expired (the message says which)."""


@dataclass
class SurveyData:
    filled_on: dt.date
    respondent: str
    scores: dict[str, int] = field(default_factory=dict)  # every name of SCORED_FIELDS
    comment: str = ""
    channel: str = SurveyChannel.PAPER


def survey_record(*, actor: User, case: Case, data: SurveyData) -> SatisfactionSurvey:
    """A form entered by a worker of the case's institution."""
    require_own_case(actor, case)
    return _survey_save(actor=actor, case=case, data=data)


def _survey_save(*, actor: User | None, case: Case, data: SurveyData) -> SatisfactionSurvey:
    if case.status not in (*SERVED_STATES, CaseStatus.DISCHARGED):
        raise ValidationError(NOT_SERVED_YET.format(status=case.get_status_display()))
    _not_future(data.filled_on, "filled_on")
    if case.enrolled_on and data.filled_on < case.enrolled_on:
        raise ValidationError({"filled_on": BEFORE_ENROLMENT.format(day=case.enrolled_on)})
    if data.respondent not in Respondent.values:
        raise ValidationError({"respondent": "请选择填写人。"})
    bad = {
        name: [SCORE]
        for name in SCORED_FIELDS
        if not isinstance(data.scores.get(name), int) or not 1 <= data.scores[name] <= 5
    }
    if bad:
        raise ValidationError(bad)
    year = data.filled_on.year
    already = ALREADY.format(year=year, respondent=Respondent(data.respondent).label)
    if SatisfactionSurvey.objects.filter(case=case, respondent=data.respondent, year=year).exists():
        raise Conflict(already, code="stale")
    try:
        with transaction.atomic():
            survey = SatisfactionSurvey.objects.create(
                case=case,
                institution_id=case.institution_id,
                district_id=case.district_id,
                year=year,
                respondent=data.respondent,
                channel=data.channel,
                filled_on=data.filled_on,
                comment=data.comment[:500],
                by=actor,
                **{name: data.scores[name] for name in SCORED_FIELDS},
            )
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=survey,
                person_id=case.person_id,
                summary=(
                    f"{'手机填写' if data.channel == SurveyChannel.PHONE else '录入'}满意度问卷"
                    f"（{survey.get_respondent_display()}），总体 {survey.overall} 分"
                ),
            )
    except IntegrityError:
        raise Conflict(already, code="stale") from None
    return survey


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _may_survey(case: Case, respondent: str, year: int) -> None:
    if case.status not in (*SERVED_STATES, CaseStatus.DISCHARGED):
        raise ValidationError(NOT_SERVED_YET.format(status=case.get_status_display()))
    if respondent not in Respondent.values:
        raise ValidationError({"respondent": "请选择填写人。"})
    if SatisfactionSurvey.objects.filter(case=case, respondent=respondent, year=year).exists():
        raise Conflict(ALREADY.format(year=year, respondent=Respondent(respondent).label), code="stale")


def survey_link_create(
    *, actor: User, case: Case, respondent: str, days: int = LINK_DAYS
) -> tuple[SurveyLink, str]:
    """A one-use link for the case's user or family to answer on a phone, and its token, which is
    returned here once and kept only as a hash."""
    require_own_case(actor, case)
    now = timezone.now()
    _may_survey(case, respondent, timezone.localdate().year)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        link = SurveyLink.objects.create(
            case=case,
            institution_id=case.institution_id,
            respondent=respondent,
            token_hash=_token_hash(token),
            expires_at=now + dt.timedelta(days=days),
            created_by=actor,
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=link,
            person_id=case.person_id,
            summary=f"生成满意度问卷手机填写链接（{link.get_respondent_display()}），{days} 天内有效",
        )
    return link, token


def survey_link_open(token: str) -> SurveyLink:
    """The live link a token names, or `LinkRefused` saying why not."""
    link = (
        SurveyLink.objects.select_related("institution", "case")
        .filter(token_hash=_token_hash(token or ""))
        .first()
    )
    if link is None:
        raise LinkRefused(LINK_UNKNOWN, code="unknown")
    if link.used_at is not None:
        raise LinkRefused(LINK_USED, code="used")
    if link.expires_at <= timezone.now():
        raise LinkRefused(LINK_EXPIRED.format(day=timezone.localtime(link.expires_at).date()), code="expired")
    return link


def survey_link_opened(link: SurveyLink) -> None:
    """The public page was shown for the link: the case's trail says so (without a user)."""
    audit.record(
        actor=None,
        action=AuditAction.VIEW,
        obj=link,
        person_id=link.case.person_id,
        summary=f"打开满意度问卷手机填写链接（{link.get_respondent_display()}）",
    )


def survey_record_by_link(*, token: str, scores: dict[str, int], comment: str = "") -> SatisfactionSurvey:
    """The answer given through a link: recorded as a phone answer of the link's case and respondent,
    and the link used up, both or neither."""
    link = survey_link_open(token)
    data = SurveyData(
        filled_on=timezone.localdate(),
        respondent=link.respondent,
        scores=scores,
        comment=comment,
        channel=SurveyChannel.PHONE,
    )
    with transaction.atomic():
        survey = _survey_save(actor=None, case=link.case, data=data)
        # Two submits of one link at once: the second finds it used and takes its answer back.
        used = SurveyLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
            used_at=timezone.now(), survey=survey
        )
        if used != 1:
            raise LinkRefused(LINK_USED, code="used")
    return survey
