"""Personal plans: versions, and what a plan needs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kangfu.rehab.models import Case, CaseStatus, Plan
from kangfu.rehab.services import plans
from kangfu.rehab.tests.services.helpers import TODAY, messages, plan_data

pytestmark = pytest.mark.django_db


class TestPlans:
    def test_a_revision_is_a_new_version_and_the_old_one_is_kept(self, served, rehab_worker):
        first = plans.plan_create(actor=rehab_worker, case=served, data=plan_data())
        second = plans.plan_create(
            actor=rehab_worker, case=served, data=plan_data(review_on=TODAY + dt.timedelta(days=30))
        )
        first.refresh_from_db()
        assert (first.version, first.is_current, second.version, second.is_current) == (1, False, 2, True)
        assert Plan.objects.filter(case=served).count() == 2
        assert Case.objects.get(pk=served.pk).plan_review_on == TODAY + dt.timedelta(days=30)

    @pytest.mark.parametrize("review_on", [TODAY, TODAY - dt.timedelta(days=1)])
    def test_the_review_must_come_after_the_start(self, served, rehab_worker, review_on):
        with pytest.raises(ValidationError) as exc:
            plans.plan_create(actor=rehab_worker, case=served, data=plan_data(review_on=review_on))
        assert exc.value.message_dict == {"review_on": [plans.REVIEW_BEFORE_START]}

    @pytest.mark.parametrize(
        "overrides",
        [
            {"goals": []},
            {"goals": [{"problem": "退缩", "goal": "  "}]},
            {"services": []},
            {"services": [{"service_type": "", "times": 1}]},
        ],
    )
    def test_a_plan_needs_a_goal_and_a_service(self, served, rehab_worker, overrides):
        with pytest.raises(ValidationError) as exc:
            plans.plan_create(actor=rehab_worker, case=served, data=plan_data(**overrides))
        assert messages(exc) == [plans.PLAN_NEEDS_GOALS]
        assert not Plan.objects.exists()

    def test_a_plan_puts_an_enrolled_case_into_service(self, served, rehab_worker):
        plans.plan_create(actor=rehab_worker, case=served, data=plan_data())
        case = Case.objects.get(pk=served.pk)
        assert case.status == CaseStatus.ACTIVE
        assert case.events.filter(status=CaseStatus.ACTIVE, on=TODAY, reason="制订康复计划").exists()
