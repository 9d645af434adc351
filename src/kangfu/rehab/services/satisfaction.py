"""满意度: entering a service user's or a family's survey form for a case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

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
)
from kangfu.rehab.services.common import BEFORE_ENROLMENT, _not_future, require_own_case

NOT_SERVED_YET = "该人员尚未接受服务（{status}），不能调查满意度。"
ALREADY = "{year} 年已录入{respondent}的满意度问卷（可能已被他人录入），不能重复录入。"
SCORE = "请选择 1–5 分。"


@dataclass
class SurveyData:
    filled_on: dt.date
    respondent: str
    scores: dict[str, int] = field(default_factory=dict)  # every name of SCORED_FIELDS
    comment: str = ""
    channel: str = SurveyChannel.PAPER


def survey_record(*, actor: User, case: Case, data: SurveyData) -> SatisfactionSurvey:
    require_own_case(actor, case)
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
                summary=f"录入满意度问卷（{survey.get_respondent_display()}），总体 {survey.overall} 分",
            )
    except IntegrityError:
        raise Conflict(already, code="stale") from None
    return survey
