"""The 精康 services: what each write leaves behind, what it refuses and with which words, and the
counters the statistics page reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from kangfu.core.models import AuditAction, AuditEntry, CalendarDay, OrganisationKind
from kangfu.core.tests.factories import OrganisationFactory
from kangfu.rehab import scales
from kangfu.rehab.models import (
    Activity,
    Application,
    ApplicationSource,
    ApplicationState,
    Assessment,
    Attendance,
    Case,
    CaseOutcome,
    CaseStatus,
    EmergencyAccess,
    FollowUp,
    MonthlyCount,
    Placement,
    Plan,
    ServiceType,
    Stability,
    Training,
    Transfer,
    TransferKind,
    TransferState,
)
from kangfu.rehab.services import (
    activities,
    applications,
    assessments,
    cases,
    common,
    counters,
    emergency,
    enrolment,
    follow_ups,
    institutions,
    placements,
    plans,
    transfers,
)
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)  # a Monday
NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)  # 10:00 in Tianjin
EARLY = dt.date(2026, 10, 12)  # when the `served` case was enrolled
NOVEMBER = dt.date(2026, 11, 1)
OCTOBER = dt.date(2026, 10, 1)
BEICHEN_COMMUNITY = "120113001003"  # 北辰区 果园新村街道 果园里社区


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def served(admin, rehab_worker, institution):
    """Enrolled at 西青 on EARLY, so that follow-ups and services can be dated after it."""
    return f.enrolled_case(
        admin=admin,
        rehab_worker=rehab_worker,
        institution_org=institution,
        person=f.patient(name="张伟"),
        on=EARLY,
    )


@pytest.fixture
def beichen_admin(db):
    return f.district_admin("beichen.admin", f.BEICHEN)


@pytest.fixture
def xiqing_second(db):
    return f.institution(name="西青区阳光康复驿站")


@pytest.fixture
def employer(db):
    return OrganisationFactory(name="西青区阳光庇护工场", kind=OrganisationKind.EMPLOYER, region_id=f.XIQING)


# ------------------------------------------------------------------ helpers


def apply(admin, person, *, received_on=TODAY, source=ApplicationSource.SELF) -> Application:
    return applications.application_create(
        actor=admin,
        person=person,
        data=applications.ApplicationData(source=source, received_on=received_on, applicant_name="家属"),
    )


def registered(admin, person, *, on=TODAY) -> Application:
    application = apply(admin, person, received_on=on)
    return applications.application_register(actor=admin, application=application, on=on)


def counts(**filters) -> dict[tuple, int]:
    return {
        (c.institution_id, c.month, c.measure, c.key): c.n
        for c in MonthlyCount.objects.filter(**filters)
        if c.n
    }


def counter(org, measure: str, key: str = "", month: dt.date = NOVEMBER) -> int:
    row = MonthlyCount.objects.filter(institution=org, month=month, measure=measure, key=key).first()
    return row.n if row else 0


def messages(exc: pytest.ExceptionInfo) -> list[str]:
    return exc.value.messages


def sdss_answers(value: int = 1, **overrides) -> dict:
    definition = assessments.current_scale("sdss").definition
    return {**{item["key"]: value for item in definition["items"]}, **overrides}


def assess(worker, case, answers, *, code="sdss", on=TODAY) -> Assessment:
    return assessments.assessment_submit(
        actor=worker, case=case, scale=assessments.current_scale(code), assessed_on=on, answers=answers
    )


def plan_data(**overrides) -> plans.PlanData:
    values = {
        "starts_on": TODAY,
        "review_on": TODAY + dt.timedelta(days=90),
        "summary": "恢复社会交往",
        "goals": [{"problem": "社会性退缩", "goal": "每周参加一次小组活动"}],
        "services": [{"service_type": ServiceType.SOCIAL, "times": 1, "per": "week", "place": "site"}],
    }
    return plans.PlanData(**{**values, **overrides})


def activity(worker, patients, family=(), *, form="group", held_on=TODAY, service_type=ServiceType.SOCIAL):
    return activities.activity_record(
        actor=worker,
        data=activities.ActivityData(
            form=form,
            service_type=service_type,
            mode="site",
            title="社交技能小组",
            held_on=held_on,
            patients=list(patients),
            family=list(family),
        ),
    )


def follow(worker, case, *, done_on=TODAY, stability=Stability.STABLE, risk=0, next_on=None) -> FollowUp:
    return follow_ups.follow_up_record(
        actor=worker,
        case=case,
        data=follow_ups.FollowUpData(
            done_on=done_on,
            mode="home",
            stability=stability,
            risk_level=risk,
            adherence="regular",
            insight="full",
            next_on=next_on,
        ),
    )


def send(worker, *, to, kind, case=None, person=None, shared=("registration",), employment_type=""):
    return transfers.transfer_send(
        actor=worker,
        person=person if person is not None else case.person,
        case=case,
        data=transfers.TransferData(
            to_org=to,
            kind=kind,
            reason="病情稳定，需要就近康复",
            shared=list(shared),
            sent_on=TODAY,
            employment_type=employment_type,
        ),
    )


def placement_data(**overrides) -> placements.PlacementData:
    values = {
        "employer": "西青区阳光庇护工场",
        "employment_type": "sheltered",
        "job": "手工包装",
        "starts_on": dt.date(2026, 11, 2),
        "monthly_subsidy": Decimal("300.00"),
    }
    return placements.PlacementData(**{**values, **overrides})


# ------------------------------------------------------------------ applications


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
        with pytest.raises(ValidationError) as exc:
            applications.application_register(actor=admin, application=application, on=TODAY)
        assert exc.value.code == "stale"
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


# ------------------------------------------------------------------ screening, enrolment, status


def enrolment_data(**overrides) -> enrolment.EnrolmentData:
    values = {
        "enrolled_on": TODAY,
        "worker": None,
        "rights_explained_on": TODAY,
        "agreement_signed_on": TODAY,
        "agreement_signer": "patient",
    }
    return enrolment.EnrolmentData(**{**values, **overrides})


@pytest.fixture
def referred(admin, institution):
    return f.referred_case(admin=admin, institution_org=institution, person=f.patient(name="王芳"), on=TODAY)


@pytest.fixture
def screened(referred, rehab_worker):
    return enrolment.screening_decide(actor=rehab_worker, case=referred, eligible=True, on=TODAY)


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


# ------------------------------------------------------------------ assessments


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


# ------------------------------------------------------------------ plans


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


# ------------------------------------------------------------------ activities


@pytest.fixture
def second(admin, rehab_worker, institution):
    return f.enrolled_case(
        admin=admin,
        rehab_worker=rehab_worker,
        institution_org=institution,
        person=f.patient(name="刘洋"),
        on=EARLY,
    )


@pytest.fixture
def beichen_case(beichen_admin, other_worker, other_institution):
    return f.enrolled_case(
        admin=beichen_admin,
        rehab_worker=other_worker,
        institution_org=other_institution,
        person=f.patient(name="陈静", community_code=BEICHEN_COMMUNITY, county="120113"),
        on=EARLY,
    )


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


# ------------------------------------------------------------------ follow-ups


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


# ------------------------------------------------------------------ referrals between institutions


class TestTransfers:
    def test_a_referral_to_ones_own_institution_or_site_is_refused(self, served, rehab_worker, institution):
        own_site = f.site(institution)
        for to in (institution, own_site):
            with pytest.raises(ValidationError) as exc:
                send(rehab_worker, case=served, to=to, kind=TransferKind.BETWEEN_INSTITUTIONS)
            assert exc.value.message_dict["to_org"] == [transfers.TRANSFER_TO_SELF]
        assert not Transfer.objects.exists()

    def test_a_relapse_goes_to_a_hospital(self, served, rehab_worker, other_institution):
        with pytest.raises(ValidationError) as exc:
            send(rehab_worker, case=served, to=other_institution, kind=TransferKind.RELAPSE)
        assert exc.value.message_dict == {"to_org": ["“复发转医院”应转给精神卫生医疗机构。"]}

    def test_employment_goes_to_an_employer_with_an_employment_type(self, served, rehab_worker, employer):
        with pytest.raises(ValidationError) as exc:
            send(
                rehab_worker,
                case=served,
                to=f.hospital(),
                kind=TransferKind.TO_EMPLOYMENT,
                employment_type="open",
            )
        assert exc.value.message_dict == {"to_org": ["“转介就业”应转给就业单位。"]}
        with pytest.raises(ValidationError) as exc:
            send(rehab_worker, case=served, to=employer, kind=TransferKind.TO_EMPLOYMENT)
        assert exc.value.message_dict == {"employment_type": [transfers.TRANSFER_NEEDS_EMPLOYMENT]}
        transfer = send(
            rehab_worker,
            case=served,
            to=employer,
            kind=TransferKind.TO_EMPLOYMENT,
            employment_type="supported",
        )
        assert (transfer.employment_type, transfer.state) == ("supported", TransferState.SENT)

    def test_a_second_open_referral_to_the_same_place_is_refused(
        self, served, rehab_worker, other_institution
    ):
        send(rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS)
        with pytest.raises(ValidationError) as exc:
            send(rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS)
        assert messages(exc) == [transfers.TRANSFER_OPEN.format(org=other_institution.name)]
        assert Transfer.objects.count() == 1

    def test_the_receiver_accepting_opens_a_case_there(
        self, served, rehab_worker, other_worker, other_institution, institution
    ):
        transfer = send(
            rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS
        )
        assert transfer.due_on == dt.date(2026, 11, 30)
        assert counter(institution, "transfers_sent", "between") == 1
        transfer = transfers.transfer_accept(actor=other_worker, transfer=transfer)
        received = transfer.received_case
        assert (transfer.state, transfer.answered_by, transfer.answered_on) == (
            TransferState.ACCEPTED,
            other_worker,
            TODAY,
        )
        assert (received.person, received.institution, received.district_id, received.status) == (
            served.person,
            other_institution,
            f.BEICHEN,
            CaseStatus.REFERRED,
        )
        assert counter(other_institution, "referred") == 1

    def test_accepting_links_a_case_already_open_at_the_receiver(self, served, doctor, rehab_worker):
        transfer = send(
            doctor, person=served.person, to=served.institution, kind=TransferKind.HOSPITAL_TO_COMMUNITY
        )
        transfer = transfers.transfer_accept(actor=rehab_worker, transfer=transfer)
        assert transfer.received_case == served
        assert Case.objects.filter(person=served.person).count() == 1

    def test_only_the_receiver_answers(self, served, rehab_worker, other_institution):
        transfer = send(
            rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS
        )
        with pytest.raises(PermissionDenied) as exc:
            transfers.transfer_accept(actor=rehab_worker, transfer=transfer)
        assert str(exc.value) == transfers.TRANSFER_NOT_RECEIVER
        with pytest.raises(PermissionDenied):
            transfers.transfer_decline(actor=rehab_worker, transfer=transfer, reason="不接收")
        assert Transfer.objects.get(pk=transfer.pk).state == TransferState.SENT

    def test_the_sender_records_an_employers_answer(self, served, rehab_worker, other_worker, employer):
        transfer = send(
            rehab_worker,
            case=served,
            to=employer,
            kind=TransferKind.TO_EMPLOYMENT,
            employment_type="sheltered",
        )
        with pytest.raises(PermissionDenied) as exc:
            transfers.transfer_accept(actor=other_worker, transfer=transfer)
        assert str(exc.value) == transfers.TRANSFER_NOT_SENDER
        transfer = transfers.transfer_accept(actor=rehab_worker, transfer=transfer)
        assert (transfer.state, transfer.answered_by, transfer.received_case) == (
            TransferState.ACCEPTED,
            rehab_worker,
            None,
        )

    def test_a_decline_needs_a_reason(self, served, rehab_worker, other_worker, other_institution):
        transfer = send(
            rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS
        )
        with pytest.raises(ValidationError) as exc:
            transfers.transfer_decline(actor=other_worker, transfer=transfer, reason="  ")
        assert exc.value.message_dict == {"reason": [transfers.DECLINE_TRANSFER_REASON]}
        transfer = transfers.transfer_decline(actor=other_worker, transfer=transfer, reason="床位已满")
        assert (transfer.state, transfer.decline_reason, transfer.received_case) == (
            TransferState.DECLINED,
            "床位已满",
            None,
        )
        assert not Case.objects.filter(institution=other_institution).exists()

    def test_only_the_sender_cancels(self, served, rehab_worker, other_worker, other_institution):
        transfer = send(
            rehab_worker, case=served, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS
        )
        with pytest.raises(PermissionDenied):
            transfers.transfer_cancel(actor=other_worker, transfer=transfer)
        transfer = transfers.transfer_cancel(actor=rehab_worker, transfer=transfer)
        assert transfer.state == TransferState.CANCELLED
        with pytest.raises(ValidationError) as exc:
            transfers.transfer_accept(actor=other_worker, transfer=transfer)
        assert exc.value.code == "stale"


# ------------------------------------------------------------------ placements, staff, emergency access


class TestPlacements:
    def test_the_end_cannot_precede_the_start(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            placements.placement_save(
                actor=rehab_worker, case=served, data=placement_data(ends_on=dt.date(2026, 11, 1))
            )
        assert exc.value.message_dict == {"ends_on": [placements.PLACEMENT_DATES]}
        assert not Placement.objects.exists()

    def test_a_negative_subsidy_is_refused(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            placements.placement_save(
                actor=rehab_worker, case=served, data=placement_data(monthly_subsidy=Decimal("-0.01"))
            )
        assert exc.value.message_dict == {"monthly_subsidy": [placements.NEGATIVE]}

    def test_a_placement_needs_a_listed_employment_type(self, served, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            placements.placement_save(
                actor=rehab_worker, case=served, data=placement_data(employment_type="temp")
            )
        assert exc.value.message_dict == {"employment_type": [placements.PLACEMENT_TYPE]}

    def test_a_placement_is_counted_by_its_type_and_start_month(self, served, rehab_worker, institution):
        placement = placements.placement_save(actor=rehab_worker, case=served, data=placement_data())
        assert (placement.district_id, counter(institution, "placements", "sheltered")) == (f.XIQING, 1)

    def test_correcting_the_start_or_type_moves_the_count(self, served, rehab_worker, institution):
        placement = placements.placement_save(actor=rehab_worker, case=served, data=placement_data())
        placements.placement_save(
            actor=rehab_worker,
            case=served,
            placement=placement,
            data=placement_data(employment_type="supported", starts_on=dt.date(2026, 10, 26)),
        )
        assert counter(institution, "placements", "sheltered") == 0
        assert counter(institution, "placements", "supported", month=OCTOBER) == 1


class TestStaff:
    @pytest.mark.parametrize("hours", [Decimal("0"), Decimal("-2")])
    def test_training_hours_must_be_positive(self, institution, rehab_worker, hours):
        staff = institutions.staff_save(
            actor=rehab_worker,
            organisation=institution,
            values={"name": "王社工", "profession": "social_worker"},
        )
        with pytest.raises(ValidationError) as exc:
            institutions.training_add(
                actor=rehab_worker, staff=staff, held_on=TODAY, hours=hours, topic="危机干预"
            )
        assert exc.value.message_dict == {"hours": [institutions.TRAINING_HOURS]}
        assert not Training.objects.exists()

    def test_training_is_recorded_by_the_institution_or_its_district(
        self, institution, rehab_worker, admin, other_worker
    ):
        staff = institutions.staff_save(
            actor=rehab_worker,
            organisation=institution,
            values={"name": "王社工", "profession": "social_worker"},
        )
        institutions.training_add(
            actor=rehab_worker, staff=staff, held_on=TODAY, hours=Decimal("6"), topic="危机干预"
        )
        institutions.training_add(
            actor=admin, staff=staff, held_on=TODAY, hours=Decimal("1.5"), topic="政策培训"
        )
        with pytest.raises(PermissionDenied):
            institutions.training_add(
                actor=other_worker, staff=staff, held_on=TODAY, hours=Decimal("2"), topic="x"
            )
        assert sorted(staff.trainings.values_list("hours", flat=True)) == [Decimal("1.5"), Decimal("6")]


class TestEmergencyAccess:
    REASON = "患者急诊就医，出现冲动伤人行为，需了解既往诊断和用药"

    def test_a_clinician_gets_four_hours_and_an_audit_row(self, served, doctor):
        grant = emergency.emergency_open(actor=doctor, person=served.person, reason=f"  {self.REASON} ")
        assert (grant.reason, grant.expires_at) == (self.REASON, timezone.now() + dt.timedelta(hours=4))
        entry = AuditEntry.objects.get(object_type="rehab.emergencyaccess", object_id=str(grant.pk))
        assert (entry.action, entry.person_id, entry.actor) == (AuditAction.REVEAL, served.person_id, doctor)

    def test_a_reason_needs_ten_characters(self, served, doctor):
        with pytest.raises(ValidationError) as exc:
            emergency.emergency_open(actor=doctor, person=served.person, reason="  急诊需要查看病史  ")
        assert exc.value.message_dict == {"reason": [emergency.EMERGENCY_REASON]}
        assert not EmergencyAccess.objects.exists()

    def test_civil_affairs_cannot_break_the_glass(self, served, admin):
        with pytest.raises(PermissionDenied) as exc:
            emergency.emergency_open(actor=admin, person=served.person, reason=self.REASON)
        assert str(exc.value) == emergency.EMERGENCY_NOT_CLINICAL
        assert not EmergencyAccess.objects.exists()


# ------------------------------------------------------------------ counters and audit


def build_history(*, admin, beichen_admin, rehab_worker, other_worker, institution, other_institution):
    """Two months of work at two institutions, every counted kind of row included."""
    with time_machine.travel(dt.datetime(2026, 10, 20, 2, tzinfo=dt.UTC), tick=False):
        october = dt.date(2026, 10, 12)
        a = f.enrolled_case(
            admin=admin,
            rehab_worker=rehab_worker,
            institution_org=institution,
            person=f.patient(),
            on=october,
        )
        b = f.enrolled_case(
            admin=admin,
            rehab_worker=rehab_worker,
            institution_org=institution,
            person=f.patient(),
            on=october,
        )
        declined = f.referred_case(admin=admin, institution_org=institution, person=f.patient(), on=october)
        enrolment.screening_decide(
            actor=rehab_worker, case=declined, eligible=False, on=october, decline_reason="unreachable"
        )
        f.referred_case(admin=admin, institution_org=institution, person=f.patient(), on=october)
        original = assess(rehab_worker, a, sdss_answers(1), on=october)
        assessments.assessment_amend(
            actor=rehab_worker, original=original, answers=sdss_answers(2), reason="录错"
        )
        assess(rehab_worker, a, {"level": 2}, code="risk", on=october)
        activity(
            rehab_worker, [a.pk, b.pk], [{"case": a.pk, "name": "母亲", "relation": "母亲"}], held_on=october
        )
        follow(rehab_worker, a, done_on=dt.date(2026, 10, 19), risk=1)
    c = f.enrolled_case(
        admin=beichen_admin,
        rehab_worker=other_worker,
        institution_org=other_institution,
        person=f.patient(community_code=BEICHEN_COMMUNITY, county="120113"),
        on=dt.date(2026, 11, 2),
    )
    assess(rehab_worker, a, sdss_answers(0), on=dt.date(2026, 11, 16))
    activity(rehab_worker, [a.pk], form="individual", service_type=ServiceType.MEDICATION, held_on=TODAY)
    activity(other_worker, [c.pk], family=[{"case": c.pk, "name": "父亲"}], held_on=TODAY)
    follow(rehab_worker, a, done_on=dt.date(2026, 11, 20))  # due 11-02: late
    follow(rehab_worker, b, done_on=dt.date(2026, 11, 20))  # due 10-26: late
    follow(other_worker, c, done_on=dt.date(2026, 11, 16))
    transfer = send(rehab_worker, case=b, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS)
    transfers.transfer_accept(actor=other_worker, transfer=transfer)
    placement = placements.placement_save(actor=rehab_worker, case=a, data=placement_data())
    placements.placement_save(
        actor=rehab_worker, case=a, placement=placement, data=placement_data(employment_type="open")
    )
    cases.case_discharge(actor=rehab_worker, case=b, on=TODAY, reason="transferred")


class TestRecount:
    @pytest.fixture
    def history(self, admin, beichen_admin, rehab_worker, other_worker, institution, other_institution):
        build_history(
            admin=admin,
            beichen_admin=beichen_admin,
            rehab_worker=rehab_worker,
            other_worker=other_worker,
            institution=institution,
            other_institution=other_institution,
        )

    def test_recount_rebuilds_exactly_the_counters_the_services_kept(self, history, institution):
        kept = counts()
        # The history reaches every measure, so the comparison below is not vacuous.
        assert {measure for (_i, _m, measure, _k) in kept} == {
            "referred",
            "screened",
            "declined",
            "enrolled",
            "discharged",
            "assessments",
            "activities",
            "patient_times",
            "family_times",
            "forms",
            "follow_ups",
            "follow_ups_late",
            "transfers_sent",
            "placements",
        }
        assert kept[(institution.pk, OCTOBER, "assessments", "sdss")] == 1
        counters.recount()
        assert counts() == kept

    def test_recount_of_one_district_repairs_it_and_leaves_the_others(
        self, history, institution, other_institution
    ):
        kept = counts()
        MonthlyCount.objects.filter(institution=institution).update(n=F("n") + 7)
        MonthlyCount.objects.filter(institution=other_institution, measure="referred").delete()
        counters.recount(district_id=f.XIQING)
        assert counts(district_id=f.XIQING) == {k: v for k, v in kept.items() if k[0] == institution.pk}
        assert counts(district_id=f.BEICHEN) == {
            k: v for k, v in kept.items() if k[0] == other_institution.pk and k[2] != "referred"
        }


class TestAudit:
    def test_every_write_about_a_person_leaves_an_audit_row_naming_them(
        self, admin, rehab_worker, other_worker, institution, other_institution, doctor, employer
    ):
        person = f.patient()
        missing: list[str] = []

        def audited(label, call):
            last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
            result = call()
            if not AuditEntry.objects.filter(id__gt=last, person_id=person.pk).exists():
                missing.append(label)
            return result

        application = audited("application_create", lambda: apply(admin, person))
        audited(
            "application_register",
            lambda: applications.application_register(actor=admin, application=application),
        )
        application.refresh_from_db()
        case = audited(
            "application_refer",
            lambda: applications.application_refer(
                actor=admin, application=application, institution=institution
            ),
        )
        audited(
            "screening_contact",
            lambda: enrolment.screening_contact(
                actor=rehab_worker, case=case, data=enrolment.ContactData(contacted_on=TODAY, mode="phone")
            ),
        )
        case = audited(
            "screening_decide",
            lambda: enrolment.screening_decide(actor=rehab_worker, case=case, eligible=True, on=TODAY),
        )
        case = audited(
            "case_enrol", lambda: enrolment.case_enrol(actor=rehab_worker, case=case, data=enrolment_data())
        )
        audited(
            "intake_save",
            lambda: enrolment.intake_save(
                actor=rehab_worker,
                case=case,
                values={
                    "interviewed_on": TODAY,
                    "mental_health": "平稳",
                    "physical_health": "良好",
                    "family_structure": "与父母同住",
                    "living_environment": "楼房",
                    "growth_history": "略",
                    "interests": "书法",
                },
            ),
        )
        audited(
            "registration_update",
            lambda: enrolment.registration_update(
                actor=rehab_worker, case=case, values={"medication": "利培酮"}, expected_version=case.version
            ),
        )
        original = audited("assessment_submit", lambda: assess(rehab_worker, case, sdss_answers()))
        audited(
            "assessment_amend",
            lambda: assessments.assessment_amend(
                actor=rehab_worker, original=original, answers=sdss_answers(0), reason="录错"
            ),
        )
        audited("plan_create", lambda: plans.plan_create(actor=rehab_worker, case=case, data=plan_data()))
        audited("activity_record", lambda: activity(rehab_worker, [case.pk]))
        audited("follow_up_record", lambda: follow(rehab_worker, case))
        job = send(
            rehab_worker, case=case, to=employer, kind=TransferKind.TO_EMPLOYMENT, employment_type="open"
        )
        audited(
            "transfer_decline",
            lambda: transfers.transfer_decline(actor=rehab_worker, transfer=job, reason="岗位已满"),
        )
        back = send(doctor, person=person, to=institution, kind=TransferKind.HOSPITAL_TO_COMMUNITY)
        audited("transfer_cancel", lambda: transfers.transfer_cancel(actor=doctor, transfer=back))
        audited(
            "placement_save",
            lambda: placements.placement_save(actor=rehab_worker, case=case, data=placement_data()),
        )
        audited(
            "emergency_open",
            lambda: emergency.emergency_open(actor=doctor, person=person, reason=TestEmergencyAccess.REASON),
        )
        audited(
            "case_suspend",
            lambda: cases.case_suspend(actor=rehab_worker, case=case, on=TODAY, reason="住院"),
        )
        audited("case_resume", lambda: cases.case_resume(actor=rehab_worker, case=case, on=TODAY))
        # Last, since completing a transfer between institutions discharges the sender's case.
        transfer = audited(
            "transfer_send",
            lambda: send(
                rehab_worker, case=case, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS
            ),
        )
        audited("transfer_accept", lambda: transfers.transfer_accept(actor=other_worker, transfer=transfer))
        transfer.refresh_from_db()
        received = transfer.received_case
        enrolment.screening_decide(actor=other_worker, case=received, eligible=True, on=TODAY)
        received.refresh_from_db()
        audited(
            "transfer completed by the receiver's enrolment",
            lambda: enrolment.case_enrol(actor=other_worker, case=received, data=enrolment_data()),
        )
        case.refresh_from_db()
        assert case.discharge_reason == "transferred"
        assert missing == []
