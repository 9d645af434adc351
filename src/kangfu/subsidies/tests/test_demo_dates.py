"""The demo's history of 两项补贴 is made in the past: nothing it writes is dated after the moment the
demo is loaded, whatever the hour (early morning in Tianjin is still yesterday in UTC)."""

import datetime as dt
import io

import pytest
import time_machine
from django.db.models import Q

from kangfu.core import demo as core_demo
from kangfu.core.models import AuditEntry, User
from kangfu.people import demo as people_demo
from kangfu.subsidies import demo
from kangfu.subsidies.models import Appeal, Application, ApplicationStep, Grant, GrantChange, Payroll, Visit
from kangfu.subsidies.services import applications

pytestmark = pytest.mark.django_db

# 04:30 in Tianjin on 3 December, 20:30 UTC on the 2nd.
LOADED = dt.datetime(2026, 12, 2, 20, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 3)


@pytest.fixture
def loaded(monkeypatch):
    monkeypatch.setattr(people_demo, "DEMO_PEOPLE", 4000)
    out = io.StringIO()
    with time_machine.travel(LOADED, tick=False):
        core_demo.load(out)
        people_demo.load(out)
        demo.load(out)
    assert Grant.objects.exists()


def test_no_row_of_the_demo_is_dated_after_it_was_loaded(loaded):
    late = Q(created_at__gt=LOADED)
    assert not Application.objects.filter(late | Q(applied_on__gt=TODAY)).exists()
    assert not ApplicationStep.objects.filter(at__gt=LOADED).exists()
    assert not GrantChange.objects.filter(at__gt=LOADED).exists()
    assert not Payroll.objects.filter(Q(run_at__gt=LOADED) | Q(locked_at__gt=LOADED)).exists()
    assert not Appeal.objects.filter(Q(lodged_on__gt=TODAY) | Q(decided_at__gt=LOADED) | late).exists()
    assert not Visit.objects.filter(Q(visited_on__gt=TODAY) | late).exists()
    assert not AuditEntry.objects.filter(at__gt=LOADED).exists()


def test_shequ2_finds_a_counter_application_of_shequ_to_accept(loaded):
    """The walk-through the second community account exists for: filed by shequ, accepted by shequ2.
    (The same demo as above, loaded once more: a minute, kept to these two tests.)"""
    shequ, shequ2 = (User.objects.get(username=u) for u in ("shequ", "shequ2"))
    waiting = Application.objects.filter(waiting_step="community", submitted_by=shequ)
    assert [applications.may_decide(u, a) for a in waiting for u in (shequ, shequ2)] == [False, True]
