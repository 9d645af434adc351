"""The monthly counters: `recount` rebuilds exactly what the services kept."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db.models import F

from kangfu.rehab.models import MonthlyCount, ServiceType, TransferKind
from kangfu.rehab.services import assessments, cases, counters, enrolment, placements, transfers
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import (
    BEICHEN_COMMUNITY,
    OCTOBER,
    TODAY,
    activity,
    assess,
    counts,
    follow,
    placement_data,
    sdss_answers,
    send,
)

pytestmark = pytest.mark.django_db


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
    activity(rehab_worker, [a.pk, b.pk], held_on=TODAY, site=f.site(institution))
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
        assert {measure for (_i, _s, _m, measure, _k) in kept} == {
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
        assert kept[(institution.pk, None, OCTOBER, "assessments", "sdss")] == 1
        # The session at a site is counted at it; the others at none.
        assert {(site is None, k) for (i, site, _m, measure, k) in kept if measure == "activities"} == {
            (True, ServiceType.SOCIAL),
            (True, ServiceType.MEDICATION),
            (False, ServiceType.SOCIAL),
        }
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
            k: v for k, v in kept.items() if k[0] == other_institution.pk and k[3] != "referred"
        }
