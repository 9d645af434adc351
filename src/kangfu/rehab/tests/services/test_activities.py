"""Services delivered: who may attend, what a session counts, and photos."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kangfu.rehab.models import Activity, Attendance, Case, CaseStatus
from kangfu.rehab.services import activities, cases
from kangfu.rehab.tests.services.helpers import EARLY, activity, counter, messages

pytestmark = pytest.mark.django_db


class TestActivities:
    def test_a_discharged_person_is_refused_by_name_and_nothing_is_saved(self, served, second, rehab_worker):
        cases.case_discharge(actor=rehab_worker, case=second, on=dt.date(2026, 11, 2), reason="moved")
        with pytest.raises(ValidationError) as exc:
            activity(rehab_worker, [served.pk, second.pk])
        assert messages(exc) == [activities.NOT_ENROLLED_HERE.format(names="刘洋")]
        assert not Activity.objects.exists() and not Attendance.objects.exists()
        assert counter(served.institution, "activities", "social") == 0
        assert Case.objects.get(pk=served.pk).last_service_on is None

    def test_a_person_only_referred_here_is_refused_by_name(self, served, referred, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            activity(rehab_worker, [served.pk, referred.pk])
        assert messages(exc) == [activities.NOT_ENROLLED_HERE.format(names="王芳")]

    def test_a_person_served_elsewhere_is_refused_without_revealing_their_name(
        self, served, beichen_case, rehab_worker
    ):
        with pytest.raises(ValidationError) as exc:
            activity(
                rehab_worker, [served.pk], [{"case": beichen_case.pk, "name": "陈父", "relation": "父亲"}]
            )
        assert messages(exc) == [activities.NOT_ENROLLED_HERE.format(names=f"档案 {beichen_case.pk}")]
        assert "陈静" not in messages(exc)[0]
        assert not Activity.objects.exists()

    def test_a_service_before_enrolment_is_refused(self, served, rehab_worker):
        with pytest.raises(ValidationError, match="张伟"):
            activity(rehab_worker, [served.pk], held_on=EARLY - dt.timedelta(days=1))

    def test_an_individual_session_has_exactly_one_person(self, served, second, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            activity(rehab_worker, [served.pk, second.pk], form="individual")
        assert messages(exc) == [activities.INDIVIDUAL_ONE]
        session = activity(rehab_worker, [served.pk, served.pk], form="individual")
        assert session.patients == 1

    def test_patients_and_family_are_counted_apart(self, served, second, rehab_worker, institution):
        family = [
            {"case": served.pk, "name": "张母", "relation": "母亲"},
            {"case": served.pk, "name": "张父", "relation": "父亲"},
            {"case": second.pk, "name": "刘妻", "relation": "配偶"},
        ]
        group = activity(rehab_worker, [served.pk, second.pk, second.pk], family)
        assert (group.patients, group.family) == (2, 3)
        assert group.attendances.filter(is_family=False).count() == 2
        assert group.attendances.filter(is_family=True).count() == 3
        assert (
            counter(institution, "activities", "social"),
            counter(institution, "patient_times", "social"),
            counter(institution, "family_times", "social"),
            counter(institution, "forms", "group"),
        ) == (1, 2, 3, 1)

    def test_family_must_belong_to_a_patient(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            activity(rehab_worker, [served.pk], [{"name": "邻居", "relation": "其他"}])
        assert messages(exc) == [activities.FAMILY_NEEDS_PATIENT]

    def test_the_last_service_date_moves_forward_only(self, served, rehab_worker):
        activity(rehab_worker, [served.pk], held_on=dt.date(2026, 11, 20))
        activity(rehab_worker, [served.pk], held_on=dt.date(2026, 11, 2))
        case = Case.objects.get(pk=served.pk)
        assert case.last_service_on == dt.date(2026, 11, 20)
        assert case.status == CaseStatus.ACTIVE

    def test_a_suspended_person_cannot_attend(self, served, rehab_worker):
        cases.case_suspend(actor=rehab_worker, case=served, on=dt.date(2026, 11, 2), reason="住院")
        with pytest.raises(ValidationError, match="张伟"):
            activity(rehab_worker, [served.pk])
