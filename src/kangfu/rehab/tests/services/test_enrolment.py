"""Screening, enrolment with the agreement, the registration form and intake, and a case's status."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kangfu.rehab.models import Application, ApplicationState, Case, CaseStatus, TransferKind
from kangfu.rehab.services import applications, cases, common, enrolment, transfers
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import TODAY, counter, enrolment_data, messages, registered, send

pytestmark = pytest.mark.django_db


class TestScreeningAndEnrolment:
    def test_contacts_are_kept_newest_first(self, referred, rehab_worker):
        enrolment.screening_contact(
            actor=rehab_worker,
            case=referred,
            data=enrolment.ContactData(contacted_on=dt.date(2026, 11, 20), mode="phone", reached=False),
        )
        enrolment.screening_contact(
            actor=rehab_worker,
            case=referred,
            data=enrolment.ContactData(
                contacted_on=TODAY, mode="home", person_willing=True, guardian_willing=True, note="入户"
            ),
        )
        assert list(referred.contacts.order_by("-contacted_on", "-id").values_list("mode", "reached")) == [
            ("home", True),
            ("phone", False),
        ]

    def test_another_institution_cannot_record_contacts(self, referred, other_worker):
        with pytest.raises(PermissionDenied):
            enrolment.screening_contact(
                actor=other_worker,
                case=referred,
                data=enrolment.ContactData(contacted_on=TODAY, mode="phone"),
            )

    @pytest.mark.parametrize("reason", ["", "maybe"])
    def test_declining_needs_one_of_the_listed_reasons(self, referred, rehab_worker, reason):
        with pytest.raises(ValidationError) as exc:
            enrolment.screening_decide(
                actor=rehab_worker, case=referred, eligible=False, on=TODAY, decline_reason=reason
            )
        assert exc.value.message_dict == {"decline_reason": [enrolment.DECLINE_NEEDS_REASON]}
        assert Case.objects.get(pk=referred.pk).status == CaseStatus.REFERRED

    def test_a_declined_case_is_counted_by_reason(self, referred, rehab_worker, institution):
        case = enrolment.screening_decide(
            actor=rehab_worker, case=referred, eligible=False, on=TODAY, decline_reason="unwilling"
        )
        assert (case.status, case.eligible, case.decline_reason) == (CaseStatus.DECLINED, False, "unwilling")
        assert case.events.last().reason == "本人或监护人不愿参加"
        assert counter(institution, "screened") == 1
        assert counter(institution, "declined", "unwilling") == 1

    def test_enrolment_needs_a_positive_screening(self, referred, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            enrolment.case_enrol(actor=rehab_worker, case=referred, data=enrolment_data())
        assert messages(exc) == [enrolment.NOT_SCREENED]

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"rights_explained_on": None}, "rights_explained_on", enrolment.NEEDS_RIGHTS),
            ({"agreement_signed_on": None}, "agreement_signed_on", enrolment.NEEDS_AGREEMENT),
            ({"agreement_signer": ""}, "agreement_signed_on", enrolment.NEEDS_AGREEMENT),
            ({"agreement_signer": "guardian"}, "agreement_guardian", enrolment.NEEDS_GUARDIAN),
            (
                {"agreement_signer": "both", "agreement_guardian": "  "},
                "agreement_guardian",
                enrolment.NEEDS_GUARDIAN,
            ),
        ],
    )
    def test_enrolment_needs_rights_explained_and_a_signed_agreement(
        self, screened, rehab_worker, overrides, field, message
    ):
        with pytest.raises(ValidationError) as exc:
            enrolment.case_enrol(actor=rehab_worker, case=screened, data=enrolment_data(**overrides))
        assert exc.value.message_dict == {field: [message]}
        assert Case.objects.get(pk=screened.pk).status == CaseStatus.SCREENED

    @pytest.mark.parametrize(
        ("onset", "message"),
        [
            (TODAY.year + 1, enrolment.ONSET_FUTURE.format(year=TODAY.year)),
            (1969, enrolment.ONSET_BEFORE_BIRTH.format(year=1970)),
        ],
    )
    def test_a_first_onset_in_a_coming_year_or_before_birth_is_refused(
        self, screened, rehab_worker, onset, message
    ):
        with pytest.raises(ValidationError) as exc:
            enrolment.case_enrol(
                actor=rehab_worker, case=screened, data=enrolment_data(registration={"onset_year": onset})
            )
        assert exc.value.message_dict == {"onset_year": [message]}
        assert Case.objects.get(pk=screened.pk).status == CaseStatus.SCREENED

    def test_an_agreement_dated_before_birth_is_refused(self, screened, rehab_worker):
        born = screened.person.birth_date
        with pytest.raises(ValidationError) as exc:
            enrolment.case_enrol(
                actor=rehab_worker,
                case=screened,
                data=enrolment_data(agreement_signed_on=born - dt.timedelta(days=1)),
            )
        assert exc.value.message_dict == {"agreement_signed_on": [enrolment.BEFORE_BIRTH.format(day=born)]}

    def test_the_registration_form_cannot_be_changed_to_a_future_onset(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            enrolment.registration_update(
                actor=rehab_worker,
                case=served,
                values={"onset_year": TODAY.year + 1},
                expected_version=served.version,
            )
        assert exc.value.message_dict == {"onset_year": [enrolment.ONSET_FUTURE.format(year=TODAY.year)]}
        assert Case.objects.get(pk=served.pk).onset_year is None

    def test_enrolment_signed_by_a_guardian_keeps_the_name_and_sets_the_first_follow_up(
        self, screened, rehab_worker, institution
    ):
        case = enrolment.case_enrol(
            actor=rehab_worker,
            case=screened,
            data=enrolment_data(
                agreement_signer="guardian",
                agreement_guardian=" 王建国 ",
                registration={"diagnosis": "双相情感障碍", "version": 99},
            ),
        )
        assert (case.status, case.agreement_guardian, case.worker, case.diagnosis) == (
            CaseStatus.ENROLLED,
            "王建国",
            rehab_worker,
            "双相情感障碍",
        )
        assert case.next_follow_up_on == TODAY + dt.timedelta(days=14)
        assert case.version == 3  # referred, screened, enrolled: "version" in the form is ignored
        assert counter(institution, "enrolled") == 1

    def test_a_second_referral_to_the_same_institution_is_refused_another_is_allowed(
        self, admin, doctor, institution, xiqing_second
    ):
        person = f.patient(name="赵敏")
        application = registered(admin, person, on=dt.date(2026, 11, 20))
        # Meanwhile the hospital refers her to the same institution, which accepts.
        transfer = send(doctor, person=person, to=institution, kind=TransferKind.HOSPITAL_TO_COMMUNITY)
        transfers.transfer_accept(actor=f.worker(institution), transfer=transfer)
        with pytest.raises(ValidationError) as exc:
            applications.application_refer(actor=admin, application=application, institution=institution)
        assert messages(exc) == [common.SECOND_OPEN_CASE.format(name="赵敏", institution=institution.name)]
        assert Application.objects.get(pk=application.pk).state == ApplicationState.REGISTERED
        assert Case.objects.filter(person=person).count() == 1
        case = applications.application_refer(actor=admin, application=application, institution=xiqing_second)
        assert set(Case.objects.filter(person=person).values_list("institution_id", "status")) == {
            (institution.pk, CaseStatus.REFERRED),
            (xiqing_second.pk, CaseStatus.REFERRED),
        }
        assert case.institution == xiqing_second

    def test_suspend_resume_discharge_keep_their_reasons_in_the_history(
        self, served, rehab_worker, institution
    ):
        with pytest.raises(ValidationError):
            cases.case_suspend(actor=rehab_worker, case=served, on=TODAY, reason=" ")
        cases.case_suspend(actor=rehab_worker, case=served, on=dt.date(2026, 11, 2), reason="住院治疗")
        case = Case.objects.get(pk=served.pk)
        assert (case.status, case.suspended_on, case.status_note) == (
            CaseStatus.SUSPENDED,
            dt.date(2026, 11, 2),
            "住院治疗",
        )
        cases.case_resume(actor=rehab_worker, case=case, on=dt.date(2026, 11, 16))
        with pytest.raises(ValidationError):
            cases.case_discharge(actor=rehab_worker, case=case, on=TODAY, reason="bored")
        case = cases.case_discharge(actor=rehab_worker, case=case, on=TODAY, reason="employed")
        assert (case.status, case.discharged_on, case.discharge_reason, case.next_follow_up_on) == (
            CaseStatus.DISCHARGED,
            TODAY,
            "employed",
            None,
        )
        assert list(case.events.order_by("on", "id").values_list("status", "reason")) == [
            ("referred", ""),
            ("screened", ""),
            ("enrolled", "签订服务协议"),
            ("suspended", "住院治疗"),
            ("active", "恢复服务"),
            ("discharged", "实现就业"),
        ]
        assert counter(institution, "discharged", "employed") == 1

    def test_a_second_discharge_is_refused_as_stale_and_changes_nothing(
        self, served, rehab_worker, institution
    ):
        stale = Case.objects.get(pk=served.pk)
        cases.case_discharge(actor=rehab_worker, case=served, on=dt.date(2026, 11, 20), reason="recovered")
        with pytest.raises(ValidationError) as exc:
            cases.case_discharge(actor=rehab_worker, case=stale, on=TODAY, reason="moved", note="迁往外省")
        assert exc.value.code == "stale"
        case = Case.objects.get(pk=served.pk)
        assert (case.discharged_on, case.discharge_reason, case.status_note) == (
            dt.date(2026, 11, 20),
            "recovered",
            "",
        )
        assert case.events.filter(status=CaseStatus.DISCHARGED).count() == 1
        assert counter(institution, "discharged", "recovered") == 1
        assert counter(institution, "discharged", "moved") == 0

    def test_another_institution_cannot_discharge(self, served, other_worker):
        with pytest.raises(PermissionDenied):
            cases.case_discharge(actor=other_worker, case=served, on=TODAY, reason="recovered")
        assert Case.objects.get(pk=served.pk).status == CaseStatus.ENROLLED
