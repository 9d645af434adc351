"""The demo rental centre's year is made in the past: nothing it writes is dated after the moment
the demo is loaded, whatever the hour (early morning in Tianjin is still yesterday in UTC). Only the
end of a rental still out lies ahead, as it does for every rental."""

import datetime as dt
import io

import pytest
import time_machine
from django.db.models import Q

from kangfu.core import demo as core_demo
from kangfu.core.models import AuditEntry
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
from kangfu.people import demo as people_demo

pytestmark = pytest.mark.django_db

# 04:30 in Tianjin on 3 December, 20:30 UTC on the 2nd.
LOADED = dt.datetime(2026, 12, 2, 20, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 3)


@pytest.fixture
def loaded(monkeypatch):
    monkeypatch.setattr(people_demo, "DEMO_PEOPLE", 3000)
    out = io.StringIO()
    with time_machine.travel(LOADED, tick=False):
        core_demo.load(out)
        people_demo.load(out)
        demo.load(out)
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
