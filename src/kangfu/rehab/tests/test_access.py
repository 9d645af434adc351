"""Who sees what of a 精康 case: the serving institution everything, a receiving institution the parts
shared with it, a clinician breaking the glass everything for four hours, civil affairs only counts."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from django.http import Http404

from kangfu.core.models import Role
from kangfu.rehab import selectors
from kangfu.rehab.models import CaseStatus, SharePart, TransferKind
from kangfu.rehab.services import assessments, emergency, transfers
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)
BEICHEN_COMMUNITY = "120113001003"
REASON = "患者急诊就医，出现冲动伤人行为，需了解既往诊断和用药"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def refer_on(worker, case, to, shared=(SharePart.REGISTRATION, SharePart.ASSESSMENTS)):
    return transfers.transfer_send(
        actor=worker,
        person=case.person,
        case=case,
        data=transfers.TransferData(
            to_org=to,
            kind=TransferKind.BETWEEN_INSTITUTIONS,
            reason="迁居北辰区，转介就近康复",
            shared=list(shared),
            sent_on=TODAY,
        ),
    )


class TestCaseView:
    def test_the_serving_institution_sees_every_part(self, case, rehab_worker):
        view = selectors.case_view(rehab_worker, case.pk)
        assert (view.case, view.why, view.parts, view.full) == (case, "own", selectors.ALL_PARTS, True)

    def test_a_worker_at_one_of_its_sites_sees_every_part(self, case, institution):
        at_site = f.worker(f.site(institution), username="site.rehab")
        assert selectors.case_view(at_site, case.pk).why == "own"

    def test_another_institution_gets_not_found(self, case, other_worker):
        with pytest.raises(Http404):
            selectors.case_view(other_worker, case.pk)

    def test_civil_affairs_gets_not_found_even_in_its_district(self, case, admin):
        assert admin.jurisdiction.contains(case.district_id)
        with pytest.raises(Http404):
            selectors.case_view(admin, case.pk)

    def test_a_receiver_sees_only_the_shared_parts_while_waiting_and_after_accepting(
        self, case, rehab_worker, other_worker, other_institution
    ):
        transfer = refer_on(rehab_worker, case, other_institution)
        waiting = selectors.case_view(other_worker, case.pk)
        assert (waiting.why, waiting.parts, waiting.full) == (
            "transfer",
            frozenset({"registration", "assessments"}),
            False,
        )
        assert not waiting.sees(SharePart.PLAN) and not waiting.sees(SharePart.INTAKE)
        transfers.transfer_accept(actor=other_worker, transfer=transfer)
        accepted = selectors.case_view(other_worker, case.pk)
        assert (accepted.why, accepted.parts) == ("transfer", frozenset({"registration", "assessments"}))

    def test_a_receiver_that_declined_sees_nothing(self, case, rehab_worker, other_worker, other_institution):
        transfer = refer_on(rehab_worker, case, other_institution)
        transfers.transfer_decline(actor=other_worker, transfer=transfer, reason="不在服务范围")
        with pytest.raises(Http404):
            selectors.case_view(other_worker, case.pk)

    def test_a_withdrawn_referral_shows_nothing(self, case, rehab_worker, other_worker, other_institution):
        transfer = refer_on(rehab_worker, case, other_institution)
        transfers.transfer_cancel(actor=rehab_worker, transfer=transfer)
        with pytest.raises(Http404):
            selectors.case_view(other_worker, case.pk)

    def test_an_emergency_grant_opens_the_case_for_four_hours(self, case, doctor):
        with pytest.raises(Http404):
            selectors.case_view(doctor, case.pk)
        emergency.emergency_open(actor=doctor, person=case.person, reason=REASON)
        view = selectors.case_view(doctor, case.pk)
        assert (view.why, view.parts) == ("emergency", selectors.ALL_PARTS)
        with time_machine.travel(NOW + dt.timedelta(hours=3, minutes=59), tick=False):
            assert selectors.case_view(doctor, case.pk).why == "emergency"
        with time_machine.travel(NOW + dt.timedelta(hours=4, seconds=1), tick=False), pytest.raises(Http404):
            selectors.case_view(doctor, case.pk)

    def test_an_emergency_grant_is_the_clinicians_own(self, case, doctor):
        emergency.emergency_open(actor=doctor, person=case.person, reason=REASON)
        colleague = f.worker(doctor.organisation, username="doctor2", role=Role.PSYCHIATRIST)
        with pytest.raises(Http404):
            selectors.case_view(colleague, case.pk)


class TestPersonTab:
    def test_civil_affairs_sees_where_a_person_is_served_and_nothing_clinical(
        self, case, admin, rehab_worker
    ):
        assessments.assessment_submit(
            actor=rehab_worker,
            case=case,
            scale=assessments.current_scale("risk"),
            assessed_on=TODAY,
            answers={"level": 4},
            note="近期有冲动行为",
        )
        context = selectors.person_tab_context(SimpleNamespace(user=admin), case.person)
        assert context["clinical"] is False
        assert set(context) == {"person", "clinical", "served_at", "status_labels", "applications"}
        assert context["served_at"] == [(case.institution.name, CaseStatus.ENROLLED)]
        shown = repr(context["served_at"]) + repr([vars(a) for a in context["applications"]])
        for clinical in ("精神分裂症", "F20", "近期有冲动行为", "risk_level"):
            assert clinical not in shown

    def test_the_serving_institution_sees_its_cases_on_the_tab(self, case, rehab_worker):
        context = selectors.person_tab_context(SimpleNamespace(user=rehab_worker), case.person)
        assert context["clinical"] is True
        assert list(context["cases"]) == [case]
        assert context["other_cases"] == []


class TestStats:
    def test_a_district_admin_counts_the_cases_of_its_district_only(
        self, case, admin, other_worker, other_institution
    ):
        beichen_admin = f.district_admin("beichen.admin", f.BEICHEN)
        for _ in range(2):
            f.enrolled_case(
                admin=beichen_admin,
                rehab_worker=other_worker,
                institution_org=other_institution,
                person=f.patient(community_code=BEICHEN_COMMUNITY, county="120113"),
            )
        xiqing = selectors.stats(admin, year=2026)
        beichen = selectors.stats(beichen_admin, year=2026)
        assert (xiqing["open_cases"], sum(xiqing["flow"]["referred"]), sum(xiqing["flow"]["enrolled"])) == (
            1,
            1,
            1,
        )
        assert (beichen["open_cases"], sum(beichen["flow"]["enrolled"])) == (2, 2)
        assert xiqing["flow"]["enrolled"][10] == 1  # November

    def test_an_institution_counts_its_own_cases_only(self, case, rehab_worker, other_worker, admin):
        f.referred_case(admin=admin, institution_org=f.institution(name="西青区阳光康复驿站"))
        assert selectors.stats(rehab_worker, year=2026)["open_cases"] == 1
        assert selectors.stats(other_worker, year=2026)["open_cases"] == 0
        assert selectors.stats(admin, year=2026)["open_cases"] == 2


class TestClinicianSeesOnlyThePeopleItServes:
    """A clinician reads the registry only for the people its institution serves or is referred;
    anything else only through break-the-glass, and nothing of 两项补贴 or 数据比对."""

    def test_the_people_list_holds_the_served_and_no_one_else(self, client, case, rehab_worker, doctor):
        stranger = f.patient(name="邻居甲")
        for clinician, sees in ((rehab_worker, {case.person.pk}), (doctor, set())):
            client.force_login(clinician)
            body = client.get("/people/").content.decode()
            assert stranger.name not in body
            assert client.get(f"/people/{stranger.pk}/").status_code == 404
            assert {p.pk for p in selectors_people(clinician)} == sees

    def test_civil_affairs_business_is_closed_to_clinicians(self, client, doctor, rehab_worker, case):
        for clinician in (doctor, rehab_worker):
            client.force_login(clinician)
            menu = client.get("/").content.decode()
            for label in ("两项补贴", "数据比对"):
                assert label not in menu
            for url in ("/subsidies/", "/subsidies/grants/", "/matching/", "/reports/"):
                assert client.get(url).status_code == 403, url

    def test_a_hospital_refers_its_patient_by_id_number_and_then_reads_that_record_alone(
        self, client, doctor, institution
    ):
        patient = f.patient()
        client.force_login(doctor)
        assert client.get(f"/people/{patient.pk}/").status_code == 404
        response = client.post(
            "/rehab/transfers/new/",
            {
                "id_number": patient.id_number,
                "to_org": institution.pk,
                "kind": TransferKind.HOSPITAL_TO_COMMUNITY,
                "reason": "出院，转社区康复",
                "sent_on": TODAY.isoformat(),
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert client.get(f"/people/{patient.pk}/").status_code == 200

    def test_the_tab_does_not_tell_of_another_institutions_record(self, case, other_worker):
        context = selectors.person_tab_context(SimpleNamespace(user=other_worker), case.person)
        assert context["other_cases"] == []

    def test_break_the_glass_opens_the_one_record_for_four_hours(self, client, case, doctor):
        emergency.emergency_open(actor=doctor, person=case.person, reason=REASON)
        client.force_login(doctor)
        assert client.get(f"/people/{case.person.pk}/").status_code == 200
        context = selectors.person_tab_context(SimpleNamespace(user=doctor), case.person)
        assert [c.pk for c in context["other_cases"]] == [case.pk]
        with time_machine.travel(NOW + dt.timedelta(hours=4, seconds=1), tick=False):
            client.force_login(doctor)  # a new sign-in: the old session timed out meanwhile
            assert client.get(f"/people/{case.person.pk}/").status_code == 404


def selectors_people(user):
    from kangfu.people.selectors import person_list

    return person_list(user=user)


def test_reading_the_case_list_and_the_follow_ups_leaves_one_entry_per_person(client, case, rehab_worker):
    from kangfu.core.models import AuditAction, AuditEntry

    client.force_login(rehab_worker)
    for url, summary in (("/rehab/cases/", "查看精康个案列表"), ("/rehab/follow-ups/", "查看随访清单")):
        assert client.get(url).status_code == 200
        read = AuditEntry.objects.filter(actor=rehab_worker, action=AuditAction.VIEW, summary=summary)
        assert list(read.values_list("person_id", flat=True)) == [case.person_id], url
