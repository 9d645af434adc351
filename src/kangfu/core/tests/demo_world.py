"""The demo (or part of it) as a test's world, loaded at a moment chosen to catch anything dated in the
future: 04:30 in Tianjin on 3 December is still the 2nd in UTC."""

from __future__ import annotations

import datetime as dt
import io

import time_machine

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
