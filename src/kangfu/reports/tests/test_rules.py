"""Report periods: their slugs, ends, due days and whether they are closed."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from kangfu.reports.rules import last_closed, parse_period, period_containing


def test_a_quarter_is_named_ended_and_due_as_the_level_above_expects():
    q = parse_period("quarter", "2026-Q3")
    assert (q.start, q.end, q.label, q.slug) == (
        dt.date(2026, 7, 1),
        dt.date(2026, 9, 30),
        "2026年第3季度",
        "2026-Q3",
    )
    assert q.due_on(10) == dt.date(2026, 10, 10)
    assert not q.is_closed(dt.date(2026, 9, 30)) and q.is_closed(dt.date(2026, 10, 1))


@pytest.mark.parametrize(
    "kind,text",
    [("month", "2026-13"), ("month", "2026-Q1"), ("quarter", "2026-Q5"), ("year", "0000"), ("year", "x")],
)
def test_a_malformed_period_is_refused(kind, text):
    with pytest.raises(ValidationError):
        parse_period(kind, text)


@given(
    st.sampled_from(["month", "quarter", "year"]),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
)
def test_a_period_contains_its_day_and_the_last_closed_one_has_ended(kind, day):
    period = period_containing(kind, day)
    assert period.start <= day <= period.end
    assert parse_period(kind, period.slug) == period
    closed = last_closed(kind, day)[0]
    assert closed.is_closed(day) and closed.end + dt.timedelta(days=1) == period.start
    assert closed.due_on(31) > closed.end
