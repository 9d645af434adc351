"""The demo's history of 两项补贴 is made in the past: nothing it writes is dated after the moment the
demo is loaded, whatever the hour (early morning in Tianjin is still yesterday in UTC)."""

import pytest
from django.db.models import Q

from kangfu.core.models import AuditEntry, User
from kangfu.core.tests.demo_world import LOADED, TODAY, loaded_for_module
from kangfu.subsidies import demo
from kangfu.subsidies.models import Appeal, Application, ApplicationStep, Grant, GrantChange, Payroll, Visit
from kangfu.subsidies.services import applications

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    with loaded_for_module(django_db_blocker, demo, people=4000):
        assert Grant.objects.exists()
        yield


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
    """The walk-through the second community account exists for: filed by shequ, accepted by shequ2."""
    shequ, shequ2 = (User.objects.get(username=u) for u in ("shequ", "shequ2"))
    waiting = Application.objects.filter(waiting_step="community", submitted_by=shequ)
    assert [applications.may_decide(u, a) for a in waiting for u in (shequ, shequ2)] == [False, True]
