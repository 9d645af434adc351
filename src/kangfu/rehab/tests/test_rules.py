"""Rules the 精康 figures and worklists rest on: who counts as registered and covered, what a roster's
diagnosis reaches, the follow-up floor set by risk and insight, transfers that end the sender's file,
outcomes on one ruler, and batch writes that cost the same for ten people as for two."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from kangfu.core.models import AuditEntry, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.rehab import selectors
from kangfu.rehab.models import (
    Application,
    ApplicationSource,
    Case,
    CaseEvent,
    CaseOutcome,
    CaseStatus,
    Insight,
    RegisteredPerson,
    Scale,
    Stability,
    TransferKind,
)
from kangfu.rehab.services import (
    activities,
    applications,
    assessments,
    counters,
    enrolment,
    follow_ups,
    rosters,
    transfers,
)
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import (
    activity,
    apply,
    assess,
    follow,
    registered,
    sdss_answers,
    send,
)
from kangfu.rehab.tests.test_rosters import csv_bytes, new_id, preview

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)
XIAOSHAOZHIKOU = "120111001001"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC), tick=False):
        yield


def roster_of(admin, *people: tuple[str, str, str]):
    """Confirm a 卫健 roster naming (name, id number, diagnosis) in 小稍直口社区."""
    raw = csv_bytes([[name, number, XIAOSHAOZHIKOU, "", diagnosis] for name, number, diagnosis in people])
    return rosters.roster_confirm(actor=admin, roster=preview(admin, raw))


def case_of(number: str) -> Case:
    return Case.objects.get(person__id_number_hash=services_id_hash(number))


def services_id_hash(number: str) -> str:
    from kangfu.people.services import id_hash

    return id_hash(number)


class TestRegisterAndCoverage:
    def test_a_roster_registers_everyone_it_names_once_and_a_rejection_takes_them_off(self, admin):
        roster_of(admin, ("张一", new_id(1), "精神分裂症"), ("李二", new_id(2), ""))
        roster_of(admin, ("张一", new_id(1), "精神分裂症"), ("王三", new_id(3), ""))  # 张一 still pending
        assert RegisteredPerson.objects.count() == 3
        stats = selectors.stats(admin, year=2026)
        assert stats["registered"] == 3
        wang = Application.objects.get(person__name="王三")
        applications.application_reject(actor=admin, application=wang, reason="不属于本区常住人口")
        assert selectors.stats(admin, year=2026)["registered"] == 2

    def test_coverage_counts_registered_people_served_lately_and_never_passes_100(
        self, admin, rehab_worker, institution
    ):
        roster_of(admin, ("张一", new_id(1), "精神分裂症"), ("李二", new_id(2), ""))
        # Two self-applicants served at the institution: not on a roster, so outside the share.
        for n in (1, 2):
            walk_in = f.enrolled_case(
                admin=admin, rehab_worker=rehab_worker, institution_org=institution, person=f.patient(n=n)
            )
            activity(rehab_worker, [walk_in.pk])
        zhang = Application.objects.get(person__name="张一")
        case = applications.application_refer(actor=admin, application=zhang, institution=institution)
        assert case.roster_district_id == f.XIQING
        enrolment.screening_decide(actor=rehab_worker, case=case, eligible=True, on=TODAY)
        case.refresh_from_db()
        enrolment.case_enrol(actor=rehab_worker, case=case, data=enrolment_data(rehab_worker))
        activity(rehab_worker, [case.pk])
        stats = selectors.stats(admin, year=2026)
        assert (stats["registered"], stats["coverage"]) == (2, 50)
        # The share is judged over the last 90 days, so a past year has none.
        assert selectors.stats(admin, year=2025)["coverage"] is None

    def test_a_person_named_by_a_roster_while_served_counts_as_covered(
        self, admin, rehab_worker, institution
    ):
        person = f.patient(n=7)
        case = f.enrolled_case(
            admin=admin, rehab_worker=rehab_worker, institution_org=institution, person=person
        )
        activity(rehab_worker, [case.pk])
        roster = roster_of(admin, (person.name, person.id_number, "精神分裂症"))
        assert roster.result["skipped"] == 1
        case.refresh_from_db()
        assert case.roster_district_id == f.XIQING
        assert selectors.stats(admin, year=2026)["coverage"] == 100

    def test_a_city_admin_counts_every_district_of_the_city(self, case, other_worker, other_institution):
        beichen = f.district_admin("beichen.admin", f.BEICHEN)
        f.enrolled_case(
            admin=beichen,
            rehab_worker=other_worker,
            institution_org=other_institution,
            person=f.patient(n=9, community_code="120113001003", county="120113"),
        )
        city = UserFactory(username="shi.admin", role=Role.CITY_ADMIN, jurisdiction_id="120100000000")
        assert selectors.stats(city, year=2026)["open_cases"] == 2
        assert selectors.stats(beichen, year=2026)["open_cases"] == 1


def enrolment_data(worker) -> enrolment.EnrolmentData:
    return enrolment.EnrolmentData(
        enrolled_on=TODAY,
        worker=worker,
        rights_explained_on=TODAY,
        agreement_signed_on=TODAY,
        agreement_signer="both",
        agreement_guardian="监护人甲",
    )


class TestRosterDiagnosis:
    def test_the_diagnosis_reaches_the_clinicians_case_and_not_the_referral_clerk(self, admin, institution):
        roster_of(admin, ("张一", new_id(1), "精神分裂症"))
        application = Application.objects.get(person__name="张一")
        assert "精神分裂症" not in application.reason
        case = applications.application_refer(actor=admin, application=application, institution=institution)
        assert case.diagnosis == "精神分裂症"


class TestPersonTab:
    def test_a_device_clerk_learns_nothing_of_rehabilitation(self, case):
        clerk = UserFactory(username="clerk", role=Role.DEVICE_CLERK, jurisdiction_id=f.XIQING)
        context = selectors.person_tab_context(SimpleNamespace(user=clerk), case.person)
        assert context == {"person": case.person, "clinical": False, "hidden": True}


class TestApplicationsFromOthers:
    def test_a_roster_source_cannot_be_typed_in(self, admin):
        with pytest.raises(ValidationError) as exc:
            apply(admin, f.patient(), source=ApplicationSource.HEALTH_LIST)
        assert exc.value.message_dict == {"source": [applications.ROSTER_SOURCE_ONLY]}
        assert not Application.objects.exists()

    def test_an_institution_is_told_a_person_is_served_but_not_where(self, case, admin):
        neighbour = f.worker(f.institution(name="西青区阳光康复驿站"), username="yangguang")
        with pytest.raises(ValidationError) as exc:
            apply(neighbour, case.person)
        assert exc.value.messages == [applications.ALREADY_SERVED_UNNAMED.format(name=case.person.name)]
        with pytest.raises(ValidationError) as exc:
            apply(admin, case.person)
        assert case.institution.name in exc.value.messages[0]


class TestStabilityFloor:
    @given(
        stability=st.sampled_from(Stability.values),
        risk=st.integers(0, 5),
        insight=st.sampled_from(Insight.values),
    )
    def test_the_floor_is_never_looser_than_risk_or_insight(self, stability, risk, insight):
        result = follow_ups.stability_for(stability, risk, insight)
        order = [Stability.STABLE, Stability.BASIC, Stability.UNSTABLE]
        assert order.index(result) >= order.index(stability)  # the worker's judgement only tightens
        if risk >= 3 or insight == Insight.NONE:
            assert result == Stability.UNSTABLE
        elif risk >= 1 or insight == Insight.PARTIAL:
            assert result != Stability.STABLE

    def test_a_follow_up_without_insight_is_due_again_within_two_weeks(self, case, rehab_worker):
        data = follow_ups.FollowUpData(
            done_on=TODAY, mode="home", stability="stable", risk_level=0, adherence="regular", insight="none"
        )
        done = follow_ups.follow_up_record(actor=rehab_worker, case=case, data=data)
        assert (done.stability, done.next_on) == (Stability.UNSTABLE, TODAY + dt.timedelta(days=14))

    def test_a_risk_assessment_of_3_makes_the_case_unstable_and_due_within_two_weeks(
        self, case, rehab_worker
    ):
        follow(rehab_worker, case)  # stable: next in three months
        case.refresh_from_db()
        assert case.next_follow_up_on == TODAY + dt.timedelta(days=91)
        assess(rehab_worker, case, {"level": 3}, code="risk")
        case.refresh_from_db()
        assert (case.risk_level, case.stability, case.next_follow_up_on) == (
            3,
            Stability.UNSTABLE,
            TODAY + dt.timedelta(days=14),
        )


class TestTransferCompletion:
    def test_a_transfer_between_institutions_cannot_be_completed_before_the_receiver_enrols(
        self, case, rehab_worker, other_worker, other_institution
    ):
        transfer = send(rehab_worker, case=case, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS)
        transfers.transfer_accept(actor=other_worker, transfer=transfer)
        transfer.refresh_from_db()
        for actor in (rehab_worker, other_worker):
            with pytest.raises(ValidationError) as exc:
                transfers.transfer_complete(actor=actor, transfer=transfer)
            assert exc.value.messages == [transfers.TRANSFER_NOT_ENROLLED]
        # The receiver finds the person unsuitable: the sender still serves them.
        enrolment.screening_decide(
            actor=other_worker,
            case=transfer.received_case,
            eligible=False,
            on=TODAY,
            decline_reason="unsuitable",
            note="不适合",
        )
        case.refresh_from_db()
        transfer.refresh_from_db()
        assert (case.status, transfer.state) == (CaseStatus.ENROLLED, "accepted")


class TestOutcomesOnOneRuler:
    def test_items_not_applicable_at_baseline_are_left_out_of_the_comparison(self, case, rehab_worker):
        # Hand calculation: baseline 8 items × 1 (婚姻、父母职能 不适用) = 8; latest 10 × 1 = 10. Raw,
        # that is 2 worse (SDSS's meaningful change); over the 8 items asked both times it is 8 → 8.
        assess(rehab_worker, case, sdss_answers(1, marriage=9, parenting=9))
        assess(rehab_worker, case, sdss_answers(1))
        outcome = CaseOutcome.objects.get(case=case, scale_code="sdss")
        assert outcome.outcome == "unchanged"
        [row] = [r for r in selectors.outcomes_of(case) if r["code"] == "sdss"]
        assert (row["change"], row["outcome"]) == (0, "unchanged")

    def test_a_new_version_of_a_scale_is_not_compared_with_the_old(self, case, rehab_worker):
        assess(rehab_worker, case, sdss_answers(2))
        old = Scale.objects.get(code="sdss", is_current=True)
        Scale.objects.filter(pk=old.pk).update(is_current=False)
        Scale.objects.create(
            code="sdss", version=old.version + 1, name=old.name, definition={**old.definition, "version": 2}
        )
        assess(rehab_worker, case, sdss_answers(0))
        assert CaseOutcome.objects.get(case=case, scale_code="sdss").outcome == ""


class TestBatchWrites:
    def _refer(self, admin, institution, people: int) -> tuple[int, list[int]]:
        ids = [registered(admin, f.patient(n=100 + people * 10 + k)).pk for k in range(people)]
        with CaptureQueriesContext(connection) as queries:
            assert applications.applications_refer(actor=admin, ids=ids, institution=institution) == people
        return len(queries), ids

    def test_a_batch_referral_takes_the_same_queries_for_two_or_eight(self, admin, institution):
        self._refer(admin, institution, 1)  # warms what is read once per request (the policy, the regions)
        few, _ = self._refer(admin, institution, 2)
        many, ids = self._refer(admin, institution, 8)
        assert many == few
        assert Case.objects.filter(application_id__in=ids, status=CaseStatus.REFERRED).count() == 8
        assert CaseEvent.objects.filter(case__application_id__in=ids, status="referred").count() == 8
        assert (
            AuditEntry.objects.filter(object_type="rehab.application", object_id__in=map(str, ids)).count()
            >= 8
        )

    def test_a_batch_referral_is_all_or_nothing(self, admin, institution, case):
        fresh = registered(admin, f.patient(n=400)).pk
        # The person of `case` already has an open file at the institution.
        Application.objects.filter(person=case.person).update(state="registered")
        with pytest.raises(ValidationError) as exc:
            applications.applications_refer(
                actor=admin, ids=[fresh, case.application_id], institution=institution
            )
        assert case.person.name in exc.value.messages[0]
        assert Application.objects.get(pk=fresh).state == "registered"
        assert not Case.objects.filter(application_id=fresh).exists()

    def test_a_group_activity_takes_the_same_queries_for_two_or_eight(self, admin, rehab_worker, institution):
        def cases(k: int, base: int) -> list[int]:
            return [
                f.enrolled_case(
                    admin=admin,
                    rehab_worker=rehab_worker,
                    institution_org=institution,
                    person=f.patient(n=base + i),
                ).pk
                for i in range(k)
            ]

        two, eight = cases(2, 500), cases(8, 600)
        with CaptureQueriesContext(connection) as few:
            activity(rehab_worker, two)
        with CaptureQueriesContext(connection) as many:
            activity(rehab_worker, eight)
        assert len(many) == len(few)
        assert set(Case.objects.filter(pk__in=two + eight).values_list("status", flat=True)) == {"active"}
        assert CaseEvent.objects.filter(case_id__in=eight, status="active").count() == 8


class TestOutcomeCounters:
    def test_the_counters_follow_each_assessment_and_its_corrections_and_recount_agrees(
        self, case, rehab_worker, admin
    ):
        from kangfu.rehab.models import OutcomeCount

        def standing() -> dict:
            return {(c.scale_code, c.outcome): c.n for c in OutcomeCount.objects.filter(n__gt=0)}

        assess(rehab_worker, case, sdss_answers(2))  # baseline 20
        assert standing() == {}
        later = assess(rehab_worker, case, sdss_answers(1))  # 10: improved
        assert standing() == {("sdss", "improved"): 1}
        assessments.assessment_amend(
            actor=rehab_worker, original=later, answers=sdss_answers(2, work=1, marriage=1), reason="录错"
        )  # 18: still improved (2 is SDSS's meaningful change)
        assert standing() == {("sdss", "improved"): 1}
        newest = assess(rehab_worker, case, sdss_answers(2, work=1))  # 19: unchanged
        assert standing() == {("sdss", "unchanged"): 1}
        assessments.assessment_amend(
            actor=rehab_worker, original=newest, answers=sdss_answers(2), reason="录错"
        )
        assert standing() == {("sdss", "unchanged"): 1}
        assert selectors.stats(admin, year=2026)["outcomes"][0]["unchanged"] == 1
        live = standing()
        counters.recount()
        assert standing() == live


class TestOneServingInstitution:
    def test_enrolling_a_transferred_person_completes_the_transfer_and_closes_the_senders_file(
        self, case, rehab_worker, other_worker, other_institution
    ):
        transfer = send(rehab_worker, case=case, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS)
        received = screened_at_receiver(transfer, other_worker)
        enrolment.case_enrol(actor=other_worker, case=received, data=enrolment_data(other_worker))
        transfer.refresh_from_db()
        case.refresh_from_db()
        assert (transfer.state, case.status, case.discharge_reason) == (
            "completed",
            "discharged",
            "transferred",
        )
        served = Case.objects.filter(person=case.person, status__in=["enrolled", "active", "suspended"])
        assert [c.institution for c in served] == [other_institution]

    def test_a_person_served_elsewhere_cannot_be_enrolled_without_a_hand_over(
        self, case, other_worker, other_institution, doctor
    ):
        # A hospital refers the person to 北辰 while 西青 still serves them.
        transfer = send(
            doctor, person=case.person, to=other_institution, kind=TransferKind.HOSPITAL_TO_COMMUNITY
        )
        received = screened_at_receiver(transfer, other_worker)
        with pytest.raises(ValidationError) as exc:
            enrolment.case_enrol(actor=other_worker, case=received, data=enrolment_data(other_worker))
        assert exc.value.messages == [enrolment.SERVED_ELSEWHERE.format(name=case.person.name)]
        received.refresh_from_db()
        case.refresh_from_db()
        assert (received.status, case.status) == ("screened", "enrolled")


def screened_at_receiver(transfer, worker) -> Case:
    """The receiver accepts a transfer and finds the person eligible: its case, ready to enrol."""
    transfers.transfer_accept(actor=worker, transfer=transfer)
    transfer.refresh_from_db()
    received = transfer.received_case
    enrolment.screening_decide(actor=worker, case=received, eligible=True, on=TODAY)
    received.refresh_from_db()
    return received


class TestCoverageOnThePage:
    def test_a_past_year_shows_no_share_rather_than_zero(self, login, admin):
        from django.urls import reverse

        roster_of(admin, ("张一", new_id(1), ""))
        client = login(admin)
        now = client.get(reverse("reports:rehab_stats")).content.decode()
        assert 'id="kpi-coverage">0.0%<' in now or 'id="kpi-coverage">0%<' in now
        past = client.get(reverse("reports:rehab_stats"), {"year": 2025}).content.decode()
        assert 'id="kpi-coverage">—<' in past
        assert "只显示本年" in past


class TestFamilyOnlySessions:
    def test_a_carer_training_for_families_alone_counts_family_people_times_only(
        self, case, rehab_worker, institution
    ):
        from kangfu.rehab.models import MonthlyCount

        training = activity(
            rehab_worker,
            [],
            [{"case": case.pk, "name": "王母", "relation": "母亲"}],
            form="carer_training",
            service_type="family",
        )
        assert (training.patients, training.family) == (0, 1)
        case.refresh_from_db()
        # The patient was not there: no service to the patient, and the case waits for its first one.
        assert (case.status, case.last_service_on) == ("enrolled", None)
        times = dict(
            MonthlyCount.objects.filter(institution=institution, key="family").values_list("measure", "n")
        )
        assert (times["family_times"], times.get("patient_times", 0)) == (1, 0)
        assert AuditEntry.objects.filter(object_type="rehab.activity", person_id=case.person_id).exists()

    def test_a_session_with_nobody_is_refused(self, rehab_worker):
        with pytest.raises(ValidationError) as exc:
            activity(rehab_worker, [])
        assert exc.value.messages == [activities.NO_PATIENTS]


class TestRecountRepairsTheRegisterCopy:
    def test_recount_sets_each_cases_roster_district_from_the_register(self, case, admin):
        listed = f.enrolled_case(
            admin=admin,
            rehab_worker=f.worker(case.institution, username="second"),
            institution_org=case.institution,
            person=f.patient(n=77),
        )
        RegisteredPerson.objects.create(
            person=listed.person, district_id=f.XIQING, source="health_list", listed_on=TODAY
        )
        Case.objects.filter(pk=case.pk).update(roster_district=f.XIQING)  # wrong: not on any roster
        counters.recount()
        assert dict(Case.objects.values_list("pk", "roster_district")) == {case.pk: None, listed.pk: f.XIQING}


class TestReviewFindings:
    @pytest.fixture
    def case(self, admin, rehab_worker, institution):
        """Enrolled three weeks ago, so that follow-ups and assessments can be dated before today."""
        return f.enrolled_case(
            admin=admin,
            rehab_worker=rehab_worker,
            institution_org=institution,
            on=TODAY - dt.timedelta(days=20),
        )

    def test_a_follow_up_entered_late_keeps_a_later_risk_assessment_of_3(self, case, rehab_worker):
        assess(rehab_worker, case, {"level": 4}, code="risk", on=TODAY - dt.timedelta(days=3))
        follow(rehab_worker, case, done_on=TODAY - dt.timedelta(days=10))  # stable, risk 0, typed in now
        case.refresh_from_db()
        assert (case.risk_level, case.stability) == (4, Stability.UNSTABLE)
        assert case.next_follow_up_on <= TODAY - dt.timedelta(days=3) + dt.timedelta(days=14)

    def test_an_old_risk_assessment_entered_late_does_not_override_a_newer_follow_up(
        self, case, rehab_worker
    ):
        follow(rehab_worker, case, done_on=TODAY - dt.timedelta(days=2))
        assess(rehab_worker, case, {"level": 4}, code="risk", on=TODAY - dt.timedelta(days=9))
        case.refresh_from_db()
        assert (case.risk_level, case.stability) == (0, Stability.STABLE)

    def test_coverage_counts_a_person_in_the_district_whose_roster_names_them(
        self, admin, rehab_worker, institution, other_worker, other_institution
    ):
        roster_of(admin, ("张一", new_id(1), ""))
        zhang = Application.objects.get(person__name="张一")
        case = applications.application_refer(actor=admin, application=zhang, institution=institution)
        enrolment.screening_decide(actor=rehab_worker, case=case, eligible=True, on=TODAY)
        case.refresh_from_db()
        enrolment.case_enrol(actor=rehab_worker, case=case, data=enrolment_data(rehab_worker))
        transfer = send(rehab_worker, case=case, to=other_institution, kind=TransferKind.BETWEEN_INSTITUTIONS)
        received = screened_at_receiver(transfer, other_worker)
        enrolment.case_enrol(actor=other_worker, case=received, data=enrolment_data(other_worker))
        activity(other_worker, [received.pk])
        beichen = f.district_admin("beichen.admin", f.BEICHEN)
        assert selectors.stats(admin, year=2026)["coverage"] == 100  # 西青's list, served in 北辰
        assert selectors.stats(beichen, year=2026)["registered"] == 0

    def test_an_institution_is_not_told_which_list_names_a_pending_applicant(self, admin):
        roster_of(admin, ("张一", new_id(1), ""))
        person = Application.objects.get(person__name="张一").person
        neighbour = f.worker(f.institution(name="西青区阳光康复驿站"), username="yangguang")
        with pytest.raises(ValidationError) as exc:
            apply(neighbour, person)
        assert exc.value.messages == [applications.ALREADY_APPLIED_UNNAMED.format(name=person.name)]

    def test_a_batch_with_applications_referred_meanwhile_refers_none(self, admin, institution):
        first, second = (registered(admin, f.patient(n=800 + k)).pk for k in range(2))
        applications.applications_refer(actor=admin, ids=[first], institution=institution)  # another clerk
        with pytest.raises(ValidationError) as exc:
            applications.applications_refer(actor=admin, ids=[first, second], institution=institution)
        assert exc.value.messages == [applications.NOT_ALL_REFERRED.format(n=1)]
        assert Application.objects.get(pk=second).state == "registered"
