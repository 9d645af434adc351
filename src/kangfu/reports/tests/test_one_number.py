"""One number per concept: where the apps' statistics pages and a report name the same concept over the
same period and area, they show the same figure (the 辅具 and 精康 pages' year against the measures
asked for that year)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from kangfu.devices import selectors as device_selectors
from kangfu.rehab import selectors as rehab_selectors
from kangfu.reports import measures
from kangfu.reports.rules import Period
from kangfu.reports.tests import factories as w

pytestmark = pytest.mark.django_db

YEAR = Period("year", dt.date(2026, 1, 1))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(w.TODAY, tick=False):
        yield


def measure(code: str, unit: str):
    return measures.get(code).compute(measures.Scope(YEAR, unit, "unit"))[unit]


def test_the_devices_statistics_page_and_the_devices_measures_agree():
    w.devices_world()
    page = device_selectors.statistics(w.admin("wuqing", w.WUQING), year=2026)
    assert page["rentals"] == measure("devices.rentals_new", w.WUQING) == 3
    assert page["people"] == measure("devices.people_new", w.WUQING)
    assert Decimal(page["rent_income"]) == measure("devices.rent_income", w.WUQING)
    assert Decimal(page["subsidy"]) == measure("devices.subsidy", w.WUQING)
    assert Decimal(page["discount"]) == measure("devices.discount", w.WUQING)
    assert page["disinfections"] == measure("devices.disinfections", w.WUQING) == 1


def test_the_rehab_statistics_page_and_the_rehab_measures_agree():
    w.rehab_world()
    page = rehab_selectors.stats(w.admin("xiqing", w.XIQING), year=2026)
    assert sum(page["activities"]) == measure("rehab.activities", w.XIQING) == 4
    assert sum(page["patient_times"]) == measure("rehab.patient_times", w.XIQING)
    assert sum(page["family_times"]) == measure("rehab.family_times", w.XIQING)
    assert sum(page["follow_ups_done"]) == measure("rehab.follow_ups", w.XIQING)
    assert page["registered"] == measure("rehab.registered", w.XIQING) == 4
    by_type = {r["key"]: r["patient_times"] for r in page["by_type"]}
    for key, n in by_type.items():
        assert n == (measure(f"rehab.patient_times.{key}", w.XIQING) or 0), key


def test_a_single_figure_is_the_measure_of_its_row():
    w.devices_world()
    scope = measures.Scope(YEAR, w.WUQING, "unit")
    assert measures.value("devices.rentals_new", scope, w.WUQING) == 3
    assert measures.value("rehab.target", scope, w.WUQING) == Decimal(60)
