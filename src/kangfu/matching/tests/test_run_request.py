"""Starting a comparison for a user (the page and the API both call `comparison.run_request`)."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.matching import comparison
from kangfu.matching.models import ComparisonRun, RunStatus
from kangfu.matching.tests.conftest import HEXI

pytestmark = pytest.mark.django_db

NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture
def quju(db):
    return UserFactory(username="qj", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)


def test_the_run_is_queued_only_once_it_is_committed(quju, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        run = comparison.run_request(actor=quju, district=quju.jurisdiction, period=NOVEMBER)
        assert ComparisonRun.objects.get().status == RunStatus.RUNNING
    assert len(queued) == 1
    queued[0]()
    run.refresh_from_db()
    assert run.status == RunStatus.DONE


def test_a_run_is_for_a_month_whatever_day_is_given(quju, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        run = comparison.run_request(actor=quju, district=quju.jurisdiction, period=dt.date(2026, 11, 17))
    assert run.period == NOVEMBER


def test_only_a_district_account_starts_a_run(db):
    city = UserFactory(username="city", role=Role.DISTRICT_ADMIN, jurisdiction_id="120100000000")
    with pytest.raises(ValidationError) as refused:
        comparison.run_request(actor=city, district=city.jurisdiction, period=NOVEMBER)
    assert refused.value.messages == [comparison.NOT_A_DISTRICT]
    assert not ComparisonRun.objects.exists()


def test_a_street_officer_cannot_start_a_run(db):
    street = UserFactory(username="jd", role=Role.STREET_OFFICER, jurisdiction_id="120103001000")
    with pytest.raises(PermissionDenied):
        comparison.run_request(actor=street, district=Region.objects.get(code=HEXI), period=NOVEMBER)
    assert not ComparisonRun.objects.exists()


def test_a_district_cannot_start_another_districts_run(quju):
    with pytest.raises(PermissionDenied):
        comparison.run_request(actor=quju, district=Region.objects.get(code="120104000000"), period=NOVEMBER)
    assert not ComparisonRun.objects.exists()
