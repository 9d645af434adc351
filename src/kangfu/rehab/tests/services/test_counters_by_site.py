"""The counters of activities are kept per site: what the services keep, what `recount` rebuilds and
what the upgrade (rehab 0012) derives for the activities recorded before it all agree."""

from __future__ import annotations

import importlib
from collections import Counter

import pytest
from django.db import connection

from kangfu.rehab.models import ServiceType
from kangfu.rehab.services import counters
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import activity, counter, counts

pytestmark = pytest.mark.django_db

upgrade = importlib.import_module("kangfu.rehab.migrations.0012_activity_counters_by_site")


class _Editor:
    """What the migration's SQL needs of a schema editor, on the test's own connection (a real schema
    editor may not be opened inside the test's transaction on SQLite)."""

    connection = connection

    def execute(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


@pytest.fixture
def sessions(admin, rehab_worker, institution):
    case = f.enrolled_case(admin=admin, rehab_worker=rehab_worker, institution_org=institution)
    north, south = f.site(institution), f.site(institution, name="大寺镇康复站点")
    activity(rehab_worker, [case.pk], site=north)
    activity(rehab_worker, [case.pk], [{"case": case.pk, "name": "母亲", "relation": "母亲"}], site=north)
    activity(rehab_worker, [case.pk], site=south, service_type=ServiceType.LIVING)
    activity(rehab_worker, [case.pk])  # held at no site
    return north, south


def test_a_session_is_counted_at_its_site_and_the_institution_sees_them_all(sessions, institution):
    north, south = sessions
    kept = counts(measure="activities")
    assert {(site, k): n for (_i, site, _m, _meas, k), n in kept.items()} == {
        (north.pk, ServiceType.SOCIAL): 2,
        (south.pk, ServiceType.LIVING): 1,
        (None, ServiceType.SOCIAL): 1,
    }
    assert counter(institution, "activities", ServiceType.SOCIAL) == 3
    assert counter(institution, "family_times", ServiceType.SOCIAL) == 1


def test_recount_rebuilds_the_counters_of_each_site(sessions):
    kept = counts()
    counters.recount()
    assert counts() == kept


def test_the_upgrade_splits_the_counters_by_site_and_its_way_back_folds_them(sessions, institution):
    kept = counts()
    upgrade.merge_sites(None, _Editor())
    folded = counts()
    assert all(site is None for (_i, site, *_rest) in folded)
    summed = Counter()
    for (i, _site, m, measure, k), n in kept.items():
        summed[(i, None, m, measure, k)] += n
    assert folded == dict(summed)
    upgrade.split_by_site(None, _Editor())
    assert counts() == kept
