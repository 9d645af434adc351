"""Applications: receiving, the first check, registering, referring and rejecting, and what each refuses."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from kangfu.core.models import AuditEntry, CalendarDay
from kangfu.core.transitions import Conflict
from kangfu.rehab.models import Application, ApplicationSource, ApplicationState, Case, CaseStatus
from kangfu.rehab.services import applications, common
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import BEICHEN_COMMUNITY, TODAY, apply, counter, messages, registered

pytestmark = pytest.mark.django_db


class TestApplications:
    RECEIVED = dt.date(2026, 11, 16)  # a Monday

    def test_the_check_is_due_five_working_days_after_receipt(self, admin):
        application = apply(admin, f.patient(), received_on=self.RECEIVED)
        assert application.check_due == dt.date(2026, 11, 23)

    def test_a_public_holiday_moves_the_check_deadline_later(self, admin):
        CalendarDay.objects.create(day=dt.date(2026, 11, 18), name="测试假日")
        application = apply(admin, f.patient(), received_on=self.RECEIVED)
        assert application.check_due == dt.date(2026, 11, 24)

    def test_a_weekend_worked_in_exchange_counts_as_a_working_day(self, admin):
        CalendarDay.objects.create(day=dt.date(2026, 11, 18), name="测试假日")
        CalendarDay.objects.create(day=dt.date(2026, 11, 21), name="调休上班", is_workday=True)
        application = apply(admin, f.patient(), received_on=self.RECEIVED)
        assert application.check_due == dt.date(2026, 11, 23)

    def test_the_referral_is_due_five_working_days_after_registration_holidays_counted(self, admin):
        friday = dt.date(2026, 11, 20)
        application = apply(admin, f.patient(), received_on=self.RECEIVED)
        assert applications.application_register(
            actor=admin, application=application, on=friday
        ).refer_due == dt.date(2026, 11, 27)
        CalendarDay.objects.create(day=dt.date(2026, 11, 25), name="测试假日")
        other = apply(admin, f.patient(), received_on=self.RECEIVED)
        assert applications.application_register(
            actor=admin, application=other, on=friday
        ).refer_due == dt.date(2026, 11, 30)

    def test_a_second_open_application_is_refused_naming_the_first(self, admin):
        person = f.patient(name="李强")
        apply(admin, person, received_on=self.RECEIVED)
        with pytest.raises(ValidationError) as exc:
            apply(admin, person, source=ApplicationSource.MEDICAL)
        assert messages(exc) == [
            applications.ALREADY_APPLIED.format(name="李强", source="本人或监护人申请", day="2026-11-16")
        ]
        assert Application.objects.filter(person=person).count() == 1

    def test_someone_already_served_cannot_apply_again(self, admin, served, institution):
        with pytest.raises(ValidationError) as exc:
            apply(admin, served.person)
        assert messages(exc) == [
            applications.ALREADY_SERVED.format(name="张伟", institution=institution.name)
        ]

    def test_an_application_for_someone_outside_the_jurisdiction_is_refused(self, admin):
        with pytest.raises(Http404):
            apply(admin, f.patient(community_code=BEICHEN_COMMUNITY, county="120113"))
        assert not Application.objects.exists()

    def test_register_then_refer_opens_a_case_at_the_institution(self, admin, institution):
        person = f.patient()
        application = registered(admin, person, on=dt.date(2026, 11, 20))
        case = applications.application_refer(actor=admin, application=application, institution=institution)
        application.refresh_from_db()
        assert (application.state, application.institution, application.referred_on) == (
            ApplicationState.REFERRED,
            institution,
            TODAY,
        )
        assert (case.person, case.institution_id, case.district_id, case.status, case.referred_on) == (
            person,
            institution.pk,
            f.XIQING,
            CaseStatus.REFERRED,
            TODAY,
        )
        assert case.application == application
        assert list(case.events.values_list("status", "on")) == [(CaseStatus.REFERRED, TODAY)]
        assert counter(institution, "referred") == 1

    def test_registration_cannot_predate_receipt(self, admin):
        application = apply(admin, f.patient(), received_on=self.RECEIVED)
        with pytest.raises(ValidationError) as exc:
            applications.application_register(actor=admin, application=application, on=dt.date(2026, 11, 13))
        assert messages(exc) == [applications.BEFORE_RECEIPT.format(day="2026-11-16")]
        assert Application.objects.get(pk=application.pk).state == ApplicationState.RECEIVED

    def test_a_referral_cannot_predate_registration(self, admin, institution):
        application = registered(admin, f.patient(), on=dt.date(2026, 11, 20))
        with pytest.raises(ValidationError) as exc:
            applications.application_refer(
                actor=admin, application=application, institution=institution, on=dt.date(2026, 11, 19)
            )
        assert messages(exc) == [applications.BEFORE_REGISTRATION.format(day="2026-11-20")]
        assert not Case.objects.exists()

    def test_referring_to_a_hospital_is_refused(self, admin):
        hospital = f.hospital(name="西青区精神卫生中心", region=f.XIQING)
        application = registered(admin, f.patient())
        with pytest.raises(ValidationError) as exc:
            applications.application_refer(actor=admin, application=application, institution=hospital)
        assert exc.value.message_dict == {
            "institution": ["“西青区精神卫生中心”不是在用的精神障碍社区康复机构。"]
        }
        assert Application.objects.get(pk=application.pk).state == ApplicationState.REGISTERED
        assert not Case.objects.exists()

    def test_referring_to_a_closed_institution_is_refused(self, admin, xiqing_second):
        xiqing_second.is_active = False
        xiqing_second.save()
        application = registered(admin, f.patient())
        with pytest.raises(ValidationError, match="不是在用的"):
            applications.application_refer(actor=admin, application=application, institution=xiqing_second)

    def test_referring_to_an_institution_of_another_district_is_refused(self, admin, other_institution):
        application = registered(admin, f.patient())
        with pytest.raises(ValidationError) as exc:
            applications.application_refer(
                actor=admin, application=application, institution=other_institution
            )
        assert exc.value.message_dict == {
            "institution": [applications.INSTITUTION_OUTSIDE.format(name=other_institution.name)]
        }
        assert not Case.objects.exists()

    def test_registering_twice_is_refused_as_stale_and_changes_nothing(self, admin):
        application = apply(admin, f.patient(), received_on=self.RECEIVED)
        first = applications.application_register(
            actor=admin, application=application, on=dt.date(2026, 11, 17)
        )
        audited = AuditEntry.objects.count()
        with pytest.raises(Conflict) as exc:
            applications.application_register(actor=admin, application=application, on=TODAY)
        assert messages(exc) == [common.STATE_CHANGED]
        application.refresh_from_db()
        assert (application.state, application.registered_on, application.refer_due) == (
            ApplicationState.REGISTERED,
            dt.date(2026, 11, 17),
            first.refer_due,
        )
        assert AuditEntry.objects.count() == audited

    def test_a_rejection_needs_a_reason(self, admin):
        application = apply(admin, f.patient())
        with pytest.raises(ValidationError):
            applications.application_reject(actor=admin, application=application, reason=" ")
        applications.application_reject(actor=admin, application=application, reason="非本区常住人口")
        application.refresh_from_db()
        assert (application.state, application.state_note) == (ApplicationState.REJECTED, "非本区常住人口")
