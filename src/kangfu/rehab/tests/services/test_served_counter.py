"""The served-months counter: who was served by which institution in which month, kept by the
services that record attendance and follow-ups, derived again after a removal, rebuilt by recount and
filled for existing rows by the data migration."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
from django.db import connection

from kangfu.rehab.models import Attendance
from kangfu.rehab.models.counters import ServedMonth
from kangfu.rehab.services import counters
from kangfu.rehab.tests import factories as f
from kangfu.rehab.tests.services.helpers import OCTOBER, TODAY, activity, follow
from kangfu.rehab.tests.services.test_counters import build_history

pytestmark = pytest.mark.django_db

NOVEMBER = dt.date(2026, 11, 1)


def marks(**filters) -> set[tuple[int, dt.date, int, str]]:
    return set(
        ServedMonth.objects.filter(**filters).values_list(
            "person_id", "month", "institution_id", "district_id"
        )
    )


def test_a_patient_attending_in_person_is_served_that_month_and_one_whose_family_came_alone_is_not(
    served, second, rehab_worker, institution
):
    activity(rehab_worker, [served.pk], [{"case": second.pk, "name": "母亲", "relation": "母亲"}])
    assert marks() == {(served.person_id, NOVEMBER, institution.pk, f.XIQING)}


def test_a_follow_up_marks_its_person_served_in_the_month_it_was_done(served, rehab_worker, institution):
    follow(rehab_worker, served, done_on=dt.date(2026, 10, 20))
    assert marks() == {(served.person_id, OCTOBER, institution.pk, f.XIQING)}


def test_a_person_served_again_in_the_same_month_is_still_one_row(served, rehab_worker):
    activity(rehab_worker, [served.pk], held_on=TODAY)
    activity(rehab_worker, [served.pk], held_on=TODAY - dt.timedelta(days=3))
    follow(rehab_worker, served, done_on=TODAY)
    assert ServedMonth.objects.filter(person_id=served.person_id, month=NOVEMBER).count() == 1


def test_an_attendance_removed_unmarks_its_month_once_derived_again_and_leaves_the_others(
    served, second, rehab_worker, institution
):
    october = activity(rehab_worker, [served.pk, second.pk], held_on=dt.date(2026, 10, 20))
    activity(rehab_worker, [served.pk], held_on=TODAY)
    Attendance.objects.filter(activity=october, case=served).delete()

    counters.served_rederive(person_ids=[served.person_id], first=OCTOBER, last=TODAY)

    assert marks(person_id=served.person_id) == {(served.person_id, NOVEMBER, institution.pk, f.XIQING)}
    assert marks(person_id=second.person_id) == {(second.person_id, OCTOBER, institution.pk, f.XIQING)}


def test_a_follow_up_moved_to_another_month_moves_its_mark_once_derived_again(served, rehab_worker):
    follow_up = follow(rehab_worker, served, done_on=dt.date(2026, 10, 20))
    follow_up.done_on = dt.date(2026, 11, 2)
    follow_up.save(update_fields=["done_on"])

    counters.served_rederive(person_ids=[served.person_id], first=OCTOBER, last=NOVEMBER)

    assert {month for _p, month, _i, _d in marks()} == {NOVEMBER}


class TestRebuilt:
    @pytest.fixture
    def kept(self, admin, beichen_admin, rehab_worker, other_worker, institution, other_institution):
        build_history(
            admin=admin,
            beichen_admin=beichen_admin,
            rehab_worker=rehab_worker,
            other_worker=other_worker,
            institution=institution,
            other_institution=other_institution,
        )
        kept = marks()
        # Both institutions, both months and a transferred person: the comparisons are not vacuous.
        assert {(i, m) for _p, m, i, _d in kept} >= {
            (institution.pk, OCTOBER),
            (institution.pk, NOVEMBER),
            (other_institution.pk, NOVEMBER),
        }
        return kept

    def test_recount_rebuilds_exactly_the_months_the_services_marked(self, kept):
        ServedMonth.objects.all().delete()
        counters.recount()
        assert marks() == kept

    def test_recount_of_one_district_repairs_it_and_leaves_the_others(self, kept, other_institution):
        ServedMonth.objects.filter(district_id=f.XIQING).delete()
        ServedMonth.objects.filter(district_id=f.BEICHEN).update(month=OCTOBER)
        counters.recount(district_id=f.XIQING)
        assert marks(district_id=f.XIQING) == {k for k in kept if k[3] == f.XIQING}
        assert {m for _p, m, _i, _d in marks(district_id=f.BEICHEN)} == {OCTOBER}

    def test_the_data_migration_marks_the_months_of_the_rows_already_held(self, kept):
        ServedMonth.objects.all().delete()
        migration = importlib.import_module("kangfu.rehab.migrations.0011_served_months_filled")
        # SQLite's schema editor refuses to open inside the test's transaction; `fill` needs only these.
        with connection.cursor() as cursor:
            migration.fill(None, SimpleNamespace(connection=connection, execute=cursor.execute))
        assert marks() == kept
