"""Fixtures of the service tests: the clock stopped on TODAY, and cases at the stages they need."""

from __future__ import annotations

import pytest
import time_machine

from kangfu.core.models import OrganisationKind
from kangfu.core.tests.factories import OrganisationFactory
from kangfu.rehab.services import enrolment
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import BEICHEN_COMMUNITY, EARLY, NOW, TODAY


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


@pytest.fixture
def referred(admin, institution):
    return f.referred_case(admin=admin, institution_org=institution, person=f.patient(name="王芳"), on=TODAY)


@pytest.fixture
def screened(referred, rehab_worker):
    return enrolment.screening_decide(actor=rehab_worker, case=referred, eligible=True, on=TODAY)


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
