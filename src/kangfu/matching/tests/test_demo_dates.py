"""The demo's comparison is made in the past: no feed line, run or item is dated after the moment the
demo is loaded, whatever the hour (early morning in Tianjin is still yesterday in UTC). Only an
item's deadline (办理期限) lies ahead, as it does for every item."""

import datetime as dt
import io

import pytest
import time_machine
from django.db.models import Q

from kangfu.core import demo as core_demo
from kangfu.core.models import AuditEntry
from kangfu.matching import demo
from kangfu.matching.models import ComparisonRun, FeedImport, FeedRow, Item
from kangfu.people import demo as people_demo
from kangfu.subsidies import demo as subsidies_demo

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
        subsidies_demo.load(out)
        demo.load(out)
    assert Item.objects.exists()


def test_no_row_of_the_demo_comparison_is_dated_after_it_was_loaded(loaded):
    assert not FeedImport.objects.filter(
        Q(created_at__gt=LOADED) | Q(confirmed_at__gt=LOADED) | Q(period__gt=TODAY)
    ).exists()
    assert not FeedRow.objects.filter(Q(event_date__gt=TODAY) | Q(birth_date__gt=TODAY)).exists()
    assert not ComparisonRun.objects.filter(
        Q(started_at__gt=LOADED) | Q(finished_at__gt=LOADED) | Q(period__gt=TODAY)
    ).exists()
    assert not Item.objects.filter(Q(period__gt=TODAY) | Q(effective_month__gt=TODAY)).exists()
    assert not AuditEntry.objects.filter(at__gt=LOADED).exists()
