"""The statistics pages and a district's report generation read their figures inside the reporting
scope (core.dbrouting.replica_reads), which a deployment with a streaming replica sends there; a
city's report, made from its districts' snapshots, reads them on the primary so that a district that
has just submitted is not left out.

Each SQL statement is recorded with whether it ran inside the scope (the same check the router
makes), so the tests hold wherever they run, with or without a replica."""

from __future__ import annotations

import contextlib

import pytest
import time_machine
from django.db import connection

from kangfu.core.dbrouting import in_replica_scope
from kangfu.core.models import Role
from kangfu.reports import services
from kangfu.reports.rules import Period
from kangfu.reports.tests import factories as w

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(w.TODAY, tick=False):
        yield


@contextlib.contextmanager
def statements():
    """[(sql, ran in the reporting scope)] of every statement run inside the block."""
    seen: list[tuple[str, bool]] = []

    def record(execute, sql, params, many, context):
        seen.append((sql, in_replica_scope()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def scoped(seen, table: str) -> set[bool]:
    return {
        inside for sql, inside in seen if f'"{table}"' in sql and sql.lstrip().upper().startswith("SELECT")
    }


def test_the_statistics_pages_read_their_figures_in_the_reporting_scope(client):
    w.rehab_world()
    w.devices_world()
    client.force_login(w.admin("xiqing", w.XIQING))
    with statements() as seen:
        assert client.get("/reports/rehab/").status_code == 200
    assert scoped(seen, "rehab_monthlycount") == {True}
    client.force_login(w.admin("wuqing", w.WUQING))
    with statements() as seen:
        assert client.get("/reports/devices/").status_code == 200
    assert scoped(seen, "devices_rental") == {True}
    w.subsidies_world()
    client.force_login(w.admin("hexi", w.HEXI))
    with statements() as seen:
        assert client.get("/reports/subsidies/").status_code == 200
    assert scoped(seen, "subsidies_grant") == {True}


def test_a_districts_report_is_computed_in_the_scope_and_a_citys_from_the_primary():
    w.devices_world()
    november = Period("month", w.NOV)
    wuqing = w.admin("wuqing", w.WUQING)
    with statements() as seen:
        report = services.report_generate(actor=wuqing, code="devices-monthly", period=november)
    assert scoped(seen, "devices_rental") == {True}
    services.report_submit(actor=wuqing, report=report)
    city = w.admin("city", w.TIANJIN, role=Role.CITY_ADMIN)
    with statements() as seen:
        aggregate = services.report_generate(actor=city, code="devices-monthly", period=november)
    assert scoped(seen, "reports_report") == {False}
    assert aggregate.figures["sources"][w.WUQING]["report"] == report.pk
