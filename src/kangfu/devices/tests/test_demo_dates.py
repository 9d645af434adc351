"""The demo rental centre's year is made in the past: nothing it writes is dated after the moment
the demo is loaded, whatever the hour (early morning in Tianjin is still yesterday in UTC). Only the
end of a rental still out lies ahead, as it does for every rental."""

import pytest
from django.db.models import Q

from kangfu.core.models import AuditEntry
from kangfu.core.tests.demo_world import LOADED, TODAY, load_demo
from kangfu.devices import demo
from kangfu.devices.models import (
    Charge,
    Disinfection,
    Fitting,
    Rental,
    ReturnInspection,
    Unit,
    UnitEvent,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(monkeypatch):
    load_demo(monkeypatch, demo, people=3000)
    assert Rental.objects.exists()


def test_no_row_of_the_demo_centre_is_dated_after_it_was_loaded(loaded):
    assert not Unit.objects.filter(Q(acquired_on__gt=TODAY) | Q(status_changed_at__gt=LOADED)).exists()
    assert not UnitEvent.objects.filter(at__gt=LOADED).exists()
    assert not Fitting.objects.filter(Q(assessed_on__gt=TODAY) | Q(created_at__gt=LOADED)).exists()
    assert not Rental.objects.filter(
        Q(start_date__gt=TODAY)
        | Q(returned_on__gt=TODAY)
        | Q(handed_over_at__gt=LOADED)
        | Q(created_at__gt=LOADED)
    ).exists()
    assert not Charge.objects.filter(Q(booked_on__gt=TODAY) | Q(created_at__gt=LOADED)).exists()
    assert not ReturnInspection.objects.filter(returned_on__gt=TODAY).exists()
    assert not Disinfection.objects.filter(Q(started_at__gt=LOADED) | Q(finished_at__gt=LOADED)).exists()
    assert not AuditEntry.objects.filter(at__gt=LOADED).exists()
