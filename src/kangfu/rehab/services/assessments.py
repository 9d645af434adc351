"""Assessments on the scales, corrections that amend rather than overwrite, and what they leave on the
case: its risk level and its outcome against the baseline, with the outcome counters.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from kangfu.core import audit
from kangfu.core.models import AuditAction, User
from kangfu.rehab import scales
from kangfu.rehab.models import SERVED_STATES, Assessment, Case, CaseOutcome, FollowUp, Scale, Stability
from kangfu.rehab.services.common import BEFORE_ENROLMENT, NOT_SERVED, _not_future, require_own_case
from kangfu.rehab.services.counters import _case_count, _count_outcome
from kangfu.rehab.services.follow_ups import _latest_risk, follow_up_interval

UNKNOWN_SCALE = "没有这个量表。"
ALREADY_AMENDED = "该评估已被更正过，请在最新的记录上更正。"
AMEND_NEEDS_REASON = "更正评估须说明原因。"
OUTSIDE_AGES = (
    "{scale}适用于 {low}–{high} 岁，{name}在评估日期为 {age} 岁，结果可能不可靠。"
    "如确需使用本量表，请勾选“仍按本量表评定”。"
)


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
    outside_ages: bool = False,
) -> Assessment:
    """Score and store an assessment. A scale used outside the ages it was made for (SDSS: 15–59)
    is refused unless the assessor says, with `outside_ages`, that they use it knowingly; the
    audit summary then says so."""
    require_own_case(actor, case)
    if case.status not in SERVED_STATES:
        raise ValidationError(NOT_SERVED.format(status=case.get_status_display()))
    _not_future(assessed_on, "assessed_on")
    if case.enrolled_on and assessed_on < case.enrolled_on:
        raise ValidationError({"assessed_on": BEFORE_ENROLMENT.format(day=case.enrolled_on)})
    age_note = ""
    if (warning := age_warning(scale, case, assessed_on)) is not None:
        if not outside_ages:
            raise ValidationError({"outside_ages": warning})
        age_note = "（超出量表适用年龄）"
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
            summary=f"{scale.name}：{result.total}（{result.band_label}）{age_note}",
        )
    return assessment


def age_warning(scale: Scale, case: Case, on: dt.date) -> str | None:
    """The warning that the person's age on `on` lies outside the scale's ages, or None."""
    ages = scales.age_range(scale.definition)
    if ages is None:
        return None
    age = case.person.age_on(on)
    if ages[0] <= age <= ages[1]:
        return None
    return OUTSIDE_AGES.format(scale=scale.name, low=ages[0], high=ages[1], name=case.person.name, age=age)


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
