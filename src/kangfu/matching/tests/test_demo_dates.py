"""The demo's comparison is made in the past: no feed line, run or item is dated after the moment the
demo is loaded, whatever the hour (early morning in Tianjin is still yesterday in UTC). Only an
item's deadline (办理期限) lies ahead, as it does for every item."""

import pytest
from django.db.models import Q

from kangfu.core.models import AuditEntry
from kangfu.core.tests.demo_world import LOADED, TODAY, load_demo
from kangfu.matching import demo
from kangfu.matching.models import ComparisonRun, FeedImport, FeedRow, Item
from kangfu.subsidies import demo as subsidies_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(monkeypatch):
    load_demo(monkeypatch, subsidies_demo, demo, people=4000)
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
