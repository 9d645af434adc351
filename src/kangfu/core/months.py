"""Month arithmetic, in one place: a month is the date of its first day (how grants, payrolls,
feeds and counters store it); a due date a number of months on keeps its day where it can."""

from __future__ import annotations

import calendar
import datetime as dt


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    """The first day of the month `n` months after (or before) the month of `month`."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def add_months_to_day(day: dt.date, n: int) -> dt.date:
    """The same day `n` months later, or that month's last day if it is shorter (a rental's end)."""
    first = add_months(day, n)
    return first.replace(day=min(day.day, calendar.monthrange(first.year, first.month)[1]))


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from the month of `start` to the month of `end` (negative if `end` is earlier)."""
    return (end.year - start.year) * 12 + end.month - start.month
