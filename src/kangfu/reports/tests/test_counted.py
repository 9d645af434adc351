"""The statistics pages count a scope's figures at most once in five minutes, show the last figures
(with their time) while they are counted again, and never count one scope in two requests at once:
counting a city of a million people held a web worker for 18 s, and every city officer who opened
the page meanwhile held another (reports.counted)."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from kangfu.core import serving
from kangfu.people.tests.factories import PersonFactory
from kangfu.reports import counted as counted_module
from kangfu.reports.counted import SECONDS, counted
from kangfu.reports.tests.test_replica_scope import scoped, statements

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _counting_key(user, name="people-overview") -> str:
    return f"{counted_module._key(user, name)}:counting"


def _total(figures) -> int:
    return sum(n for _name, n in figures["by_region"])


def test_figures_are_counted_once_in_five_minutes(district_admin, clock):
    PersonFactory.create_batch(3)
    first = counted(district_admin, "people-overview")
    assert _total(first) == 3
    PersonFactory()
    clock.move_to(START + dt.timedelta(seconds=SECONDS - 1))
    with CaptureQueriesContext(connection) as queries:
        again = counted(district_admin, "people-overview")
    assert len(queries) == 0 and again["counted_at"] == first["counted_at"] and _total(again) == 3


def test_old_figures_are_counted_again_by_the_request_that_finds_them_where_no_worker_runs(
    district_admin, clock
):
    PersonFactory.create_batch(3)
    counted(district_admin, "people-overview")
    PersonFactory()
    clock.move_to(START + dt.timedelta(seconds=SECONDS + 1))
    figures = counted(district_admin, "people-overview")
    assert _total(figures) == 4 and figures["counted_at"] == START + dt.timedelta(seconds=SECONDS + 1)
    assert cache.get(_counting_key(district_admin)) is None  # the next one may count again


def test_while_another_request_counts_old_figures_are_shown_without_counting(district_admin, clock):
    PersonFactory.create_batch(3)
    first = counted(district_admin, "people-overview")
    PersonFactory()
    clock.move_to(START + dt.timedelta(seconds=SECONDS + 60))
    cache.add(_counting_key(district_admin), 1, 600)  # another request's count under way
    with CaptureQueriesContext(connection) as queries:
        shown = counted(district_admin, "people-overview")
    assert len(queries) == 0 and shown["counted_at"] == first["counted_at"] and _total(shown) == 3


def test_while_the_first_count_of_the_day_runs_the_page_says_so_and_looks_again(login, district_admin, clock):
    cache.add(_counting_key(district_admin), 1, 600)
    cache.add(_counting_key(district_admin, "subsidy-indicators"), 1, 600)
    for path, title in (("/reports/", "人员概况"), ("/reports/subsidies/", "两项补贴指标")):
        response = login(district_admin).get(path)
        page = response.content.decode()
        assert response.status_code == 200
        assert title in page and "正在统计" in page and 'http-equiv="refresh"' in page


@override_settings(TASKS=DATABASE_TASKS)
def test_with_a_worker_running_old_figures_go_out_at_once_and_the_worker_counts_them_again(
    district_admin, clock
):
    PersonFactory.create_batch(3)
    first = counted(district_admin, "people-overview")
    PersonFactory()
    clock.move_to(START + dt.timedelta(seconds=SECONDS + 1))
    serving.heartbeat_record(worker_id="w1", started_at=START)
    with CaptureQueriesContext(connection) as queries:
        shown = counted(district_admin, "people-overview")
    assert shown["counted_at"] == first["counted_at"]  # not counted in the request…
    assert not any("people_person" in q["sql"] for q in queries.captured_queries)
    queued = DBTaskResult.objects.get()  # …but queued, once, however many pages go out meanwhile
    counted(district_admin, "people-overview")
    assert DBTaskResult.objects.count() == 1
    assert queued.args_kwargs["args"] == ["people-overview", district_admin.pk]
    with statements() as seen:
        counted_module.recount.call("people-overview", district_admin.pk)  # what the worker runs
    assert scoped(seen, "people_person") == {True}  # read where the pages read (a replica, if any)
    figures = counted(district_admin, "people-overview")
    assert _total(figures) == 4 and figures["counted_at"] > first["counted_at"]
    assert cache.get(_counting_key(district_admin)) is None


def test_a_colleague_of_the_same_scope_reads_the_same_count_and_another_scope_its_own(
    district_admin, city_admin, clock
):
    PersonFactory.create_batch(2)
    mine = counted(district_admin, "people-overview")
    cache.add(_counting_key(city_admin), 1, 600)  # the city's first count, under way elsewhere
    assert counted(city_admin, "people-overview") is None  # never the district's figures
    assert counted(district_admin, "people-overview") == mine
