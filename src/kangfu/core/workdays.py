"""Deadlines counted in working days (工作日): Monday to Friday, less public holidays, plus weekend
days worked in exchange, as the `CalendarDay` table lists them."""

from __future__ import annotations

import datetime as dt

from kangfu.core.models import CalendarDay


def _exceptions(start: dt.date, days: int) -> dict[dt.date, bool]:
    # Holidays can stretch a deadline by a few weeks at most (春节, 国庆).
    end = start + dt.timedelta(days=days * 2 + 30)
    return dict(CalendarDay.objects.filter(day__gt=start, day__lte=end).values_list("day", "is_workday"))


def is_workday(day: dt.date, exceptions: dict[dt.date, bool]) -> bool:
    if day in exceptions:
        return exceptions[day]
    return day.weekday() < 5


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (the day of receipt does not count)."""
    exceptions = _exceptions(start, days)
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_workday(day, exceptions):
            left -= 1
    return day
