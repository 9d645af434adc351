"""Assessments: scoring, corrections that amend, and the risk level and outcome they leave."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kangfu.rehab import scales
from kangfu.rehab.models import Assessment, Case, CaseOutcome
from kangfu.rehab.services import assessments, common
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import EARLY, TODAY, assess, messages, sdss_answers

pytestmark = pytest.mark.django_db


class TestAssessments:
    def test_a_submitted_assessment_cannot_be_saved_again(self, served, rehab_worker):
        assessment = assess(rehab_worker, served, sdss_answers())
        assessment.note = "改一下"
        with pytest.raises(ValueError, match="never edited"):
            assessment.save()
        assert Assessment.objects.get(pk=assessment.pk).note == ""

    def test_an_amendment_keeps_the_original_as_it_was(self, served, rehab_worker):
        original = assess(rehab_worker, served, sdss_answers(1))
        amendment = assessments.assessment_amend(
            actor=rehab_worker, original=original, answers=sdss_answers(0), reason="录入错误"
        )
        kept = Assessment.objects.get(pk=original.pk)
        assert (kept.total, kept.answers) == (Decimal(10), sdss_answers(1))
        assert (amendment.amends, amendment.total, amendment.is_baseline, amendment.assessed_on) == (
            kept,
            Decimal(0),
            True,
            TODAY,
        )
        assert CaseOutcome.objects.get(case=served, scale_code="sdss").baseline == amendment

    def test_the_same_original_cannot_be_amended_twice(self, served, rehab_worker):
        original = assess(rehab_worker, served, sdss_answers(1))
        assessments.assessment_amend(
            actor=rehab_worker, original=original, answers=sdss_answers(0), reason="录入错误"
        )
        with pytest.raises(ValidationError) as exc:
            assessments.assessment_amend(
                actor=rehab_worker, original=original, answers=sdss_answers(2), reason="再次更正"
            )
        assert messages(exc) == [assessments.ALREADY_AMENDED]
        assert Assessment.objects.filter(case=served).count() == 2

    def test_an_amendment_needs_a_reason(self, served, rehab_worker):
        original = assess(rehab_worker, served, sdss_answers(1))
        with pytest.raises(ValidationError):
            assessments.assessment_amend(
                actor=rehab_worker, original=original, answers=sdss_answers(0), reason=""
            )

    def test_the_first_assessment_of_each_scale_is_the_baseline(self, served, rehab_worker):
        first = assess(rehab_worker, served, sdss_answers(), on=dt.date(2026, 10, 20))
        second = assess(rehab_worker, served, sdss_answers())
        risk = assess(rehab_worker, served, {"level": 0}, code="risk")
        assert (first.is_baseline, second.is_baseline, risk.is_baseline) == (True, False, True)

    @pytest.mark.parametrize(("later", "outcome"), [(0, "improved"), (2, "worse")])
    def test_the_outcome_compares_the_latest_with_the_baseline(self, served, rehab_worker, later, outcome):
        assess(rehab_worker, served, sdss_answers(1, marriage=9), on=dt.date(2026, 10, 20))
        latest = assess(rehab_worker, served, sdss_answers(later, marriage=9))
        row = CaseOutcome.objects.get(case=served, scale_code="sdss")
        assert (row.latest, row.outcome, row.institution_id, row.district_id) == (
            latest,
            outcome,
            served.institution_id,
            f.XIQING,
        )

    def test_missing_items_are_refused_by_their_labels(self, served, rehab_worker):
        answers = sdss_answers()
        del answers["work"], answers["self_care"]
        with pytest.raises(ValidationError) as exc:
            assess(rehab_worker, served, answers)
        assert messages(exc) == [scales.MISSING_ITEMS.format(items="职业和工作、个人生活自理")]
        assert not Assessment.objects.exists()

    def test_sdss_for_someone_over_59_is_refused_unless_the_assessor_confirms(
        self, admin, rehab_worker, institution
    ):
        elder = f.enrolled_case(
            admin=admin,
            rehab_worker=rehab_worker,
            institution_org=institution,
            person=f.patient(name="李老伯", born=dt.date(1947, 3, 1)),
            on=EARLY,
        )
        scale = assessments.current_scale("sdss")
        with pytest.raises(ValidationError) as exc:
            assess(rehab_worker, elder, sdss_answers())
        assert exc.value.message_dict == {
            "outside_ages": [
                assessments.OUTSIDE_AGES.format(scale=scale.name, low=15, high=59, name="李老伯", age=79)
            ]
        }
        assert not Assessment.objects.exists()
        assessments.assessment_submit(
            actor=rehab_worker,
            case=elder,
            scale=scale,
            assessed_on=TODAY,
            answers=sdss_answers(),
            outside_ages=True,
        )
        assert Assessment.objects.count() == 1

    def test_an_assessment_before_enrolment_is_refused(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            assess(rehab_worker, served, sdss_answers(), on=EARLY - dt.timedelta(days=1))
        assert exc.value.message_dict == {"assessed_on": [common.BEFORE_ENROLMENT.format(day=EARLY)]}

    def test_a_risk_assessment_sets_the_risk_level_of_the_case(self, served, rehab_worker):
        assess(rehab_worker, served, {"level": 3}, code="risk")
        assert Case.objects.get(pk=served.pk).risk_level == 3

    def test_a_late_entry_of_an_older_risk_assessment_leaves_the_risk_level(self, served, rehab_worker):
        assess(rehab_worker, served, {"level": 1}, code="risk")
        assess(rehab_worker, served, {"level": 4}, code="risk", on=dt.date(2026, 10, 20))
        assert Case.objects.get(pk=served.pk).risk_level == 1

    def test_correcting_the_latest_risk_assessment_corrects_the_case(self, served, rehab_worker):
        original = assess(rehab_worker, served, {"level": 4}, code="risk")
        assessments.assessment_amend(
            actor=rehab_worker, original=original, answers={"level": 1}, reason="误选等级"
        )
        assert Case.objects.get(pk=served.pk).risk_level == 1

    def test_a_case_not_enrolled_cannot_be_assessed(self, referred, rehab_worker):
        with pytest.raises(ValidationError, match="不在服务中"):
            assess(rehab_worker, referred, sdss_answers())
