"""精康 enrolment and discharge, and a rental's hand-over and return, each leave their event in the
outbox, in the change's transaction; a refused one leaves none."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from kangfu.core.models import OutboxEvent
from kangfu.devices.services import rentals
from kangfu.devices.tests.test_services import fit, hand_over, rent
from kangfu.rehab.services import cases
from kangfu.rehab.tests import factories as rehab

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC), tick=False):
        yield


def test_enrolment_and_discharge_of_a_case_are_told(db):
    org = rehab.institution()
    case = rehab.enrolled_case(
        admin=rehab.district_admin(),
        rehab_worker=rehab.worker(org),
        institution_org=org,
        on=dt.date(2026, 11, 2),
    )
    enrolled = OutboxEvent.objects.get(kind="rehab.case.enrolled")
    assert (enrolled.subject_type, enrolled.subject_id) == ("rehab.case", str(case.pk))
    assert enrolled.district_id == case.district_id
    assert enrolled.payload == {"person": case.person_id, "enrolled_on": "2026-11-02"}
    cases.case_discharge(actor=None, case=case, on=dt.date(2026, 11, 20), reason="deceased")
    discharged = OutboxEvent.objects.get(kind="rehab.case.discharged")
    assert discharged.payload["reason"] == "deceased"
    with pytest.raises(ValidationError):
        cases.case_discharge(actor=None, case=case, on=dt.date(2026, 11, 20), reason="deceased")
    assert OutboxEvent.objects.filter(kind="rehab.case.discharged").count() == 1


def test_a_rental_handed_over_and_returned_is_told_twice(clerk, renter, unit):
    fit(clerk, renter, unit.product)
    rental = hand_over(clerk, rent(clerk, renter, unit))
    rentals.rental_return(actor=clerk, rental=rental, returned_on=dt.date(2026, 11, 23), condition="good")
    rows = list(OutboxEvent.objects.order_by("id"))
    assert [e.kind for e in rows] == ["devices.rental.started", "devices.rental.returned"]
    assert all(e.subject_id == str(rental.pk) and e.district_id == renter.district_id for e in rows)
    assert rows[1].payload["condition"] == "good"
    with pytest.raises(ValidationError):
        rentals.rental_return(actor=clerk, rental=rental, returned_on=dt.date(2026, 11, 23), condition="good")
    assert OutboxEvent.objects.count() == 2
