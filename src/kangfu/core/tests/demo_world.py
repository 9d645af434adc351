"""The demo (or part of it) as a test's world, loaded at a moment chosen to catch anything dated in the
future: 04:30 in Tianjin on 3 December is still the 2nd in UTC."""

from __future__ import annotations

import contextlib
import datetime as dt
import io

import pytest
import time_machine
from django.db import transaction

from kangfu.core import demo as core_demo
from kangfu.people import demo as people_demo

LOADED = dt.datetime(2026, 12, 2, 20, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 3)


def load_demo(monkeypatch, *demos, people: int = 3000, at: dt.datetime = LOADED) -> None:
    """The demo's accounts and registry (`people` of them), then each of `demos` in order (modules
    with `load(out)`), as `kangfu demo` loads them."""
    monkeypatch.setattr(people_demo, "DEMO_PEOPLE", people)
    out = io.StringIO()
    with time_machine.travel(at, tick=False):
        core_demo.load(out)
        people_demo.load(out)
        for demo in demos:
            demo.load(out)


@contextlib.contextmanager
def loaded_for_module(django_db_blocker, *demos, people: int = 3000):
    """For a module-scoped fixture: the demo loaded once, in a transaction rolled back after the
    module's last test. Each test runs in a savepoint of its own, so each starts from the same world
    (a demo year of 精康 takes most of a minute to load)."""
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch, transaction.atomic():
        load_demo(patch, *demos, people=people)
        yield
        transaction.set_rollback(True)
