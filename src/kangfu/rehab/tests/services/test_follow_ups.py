"""Follow-ups: the interval the rule allows, and the state they leave on the case."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kangfu.rehab.models import Case, FollowUp, Stability
from kangfu.rehab.services import common, follow_ups
from kangfu.rehab.tests.services.helpers import EARLY, TODAY, counter, follow

pytestmark = pytest.mark.django_db


class TestFollowUps:
    def test_a_risk_of_three_or_more_is_unstable_and_due_again_within_two_weeks(self, served, rehab_worker):
        done = dt.date(2026, 11, 20)
        record = follow(rehab_worker, served, done_on=done, stability=Stability.STABLE, risk=3)
        assert (record.stability, record.next_on) == (Stability.UNSTABLE, done + dt.timedelta(days=14))
        case = Case.objects.get(pk=served.pk)
        assert (case.stability, case.risk_level, case.next_follow_up_on) == (
            Stability.UNSTABLE,
            3,
            done + dt.timedelta(days=14),
        )

    def test_an_unstable_person_cannot_wait_longer_than_two_weeks(self, served, rehab_worker):
        done = dt.date(2026, 11, 20)
        with pytest.raises(ValidationError) as exc:
            follow(rehab_worker, served, done_on=done, risk=4, next_on=done + dt.timedelta(days=15))
        assert exc.value.message_dict == {
            "next_on": [follow_ups.NEXT_TOO_LATE.format(stability="不稳定", latest="2026-12-04")]
        }
        assert not FollowUp.objects.exists()

    def test_a_stable_person_is_seen_again_within_three_months(self, served, rehab_worker):
        done = dt.date(2026, 11, 20)
        with pytest.raises(ValidationError, match="2027-02-19"):
            follow(rehab_worker, served, done_on=done, next_on=done + dt.timedelta(days=92))
        record = follow(rehab_worker, served, done_on=done)
        assert (record.stability, record.next_on) == (Stability.STABLE, done + dt.timedelta(days=91))

    def test_a_low_risk_makes_a_stable_person_basically_stable(self, served, rehab_worker):
        record = follow(rehab_worker, served, risk=1)
        assert (record.stability, record.next_on) == (Stability.BASIC, TODAY + dt.timedelta(days=14))

    def test_the_next_date_must_follow_the_visit(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            follow(rehab_worker, served, next_on=TODAY)
        assert exc.value.message_dict == {"next_on": [follow_ups.NEXT_NOT_AFTER]}

    def test_a_follow_up_before_enrolment_is_refused(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            follow(rehab_worker, served, done_on=EARLY - dt.timedelta(days=1))
        assert exc.value.message_dict == {"done_on": [common.BEFORE_ENROLMENT.format(day=EARLY)]}

    def test_only_the_newest_follow_up_sets_the_next_date(self, served, rehab_worker):
        follow(rehab_worker, served, done_on=dt.date(2026, 11, 20), risk=3)
        follow(rehab_worker, served, done_on=dt.date(2026, 11, 2), next_on=dt.date(2027, 1, 2))
        case = Case.objects.get(pk=served.pk)
        assert (case.next_follow_up_on, case.risk_level, case.stability) == (
            dt.date(2026, 12, 4),
            3,
            Stability.UNSTABLE,
        )

    def test_a_follow_up_after_its_due_date_is_counted_late(self, served, rehab_worker, institution):
        # Enrolled on 10-12, so the first follow-up was due on 10-26.
        late = follow(rehab_worker, served, done_on=dt.date(2026, 11, 2), risk=1)
        follow(rehab_worker, served, done_on=dt.date(2026, 11, 16))
        assert late.due_on == dt.date(2026, 10, 26)
        assert (counter(institution, "follow_ups"), counter(institution, "follow_ups_late")) == (2, 1)
