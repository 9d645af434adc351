"""Report periods as plain values: a period is its kind and its first day (a month, a quarter, a year),
named in URLs as 2026-11, 2026-Q4 or 2026."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from kangfu.core.months import add_months

BAD_PERIOD = "报告期格式不正确。"

_MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class Period:
    kind: str  # PeriodKind value
    start: dt.date

    @property
    def end(self) -> dt.date:
        """The period's last day."""
        return add_months(self.start, _MONTHS[self.kind]) - dt.timedelta(days=1)

    @property
    def months(self) -> list[dt.date]:
        return [add_months(self.start, i) for i in range(_MONTHS[self.kind])]

    @property
    def slug(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        if self.kind == "quarter":
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        return f"{self.start.year}年"

    def is_closed(self, today: dt.date) -> bool:
        """A period can be reported once it has ended."""
        return today > self.end

    def due_on(self, day: int) -> dt.date:
        """The `day`-th of the month after the period (or that month's last day)."""
        after = self.end + dt.timedelta(days=1)
        last = (add_months(after, 1) - dt.timedelta(days=1)).day
        return after.replace(day=max(1, min(day, last)))

    def previous(self) -> Period:
        return Period(self.kind, add_months(self.start, -_MONTHS[self.kind]))


def period_containing(kind: str, day: dt.date) -> Period:
    if kind == "month":
        return Period(kind, day.replace(day=1))
    if kind == "quarter":
        return Period(kind, dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1))
    return Period(kind, dt.date(day.year, 1, 1))


def last_closed(kind: str, today: dt.date, n: int = 1) -> list[Period]:
    """The `n` most recent closed periods, newest first."""
    period = period_containing(kind, today).previous()
    out = []
    for _ in range(n):
        out.append(period)
        period = period.previous()
    return out


def parse_period(kind: str, text: str) -> Period:
    """A period of `kind` from its slug, or BAD_PERIOD."""
    try:
        return _parse(kind, text)
    except ValueError:  # a year 0000
        raise ValidationError(BAD_PERIOD) from None


def _parse(kind: str, text: str) -> Period:
    if kind == "month" and (m := re.fullmatch(r"(\d{4})-(\d{2})", text)) and 1 <= int(m[2]) <= 12:
        return Period(kind, dt.date(int(m[1]), int(m[2]), 1))
    if kind == "quarter" and (m := re.fullmatch(r"(\d{4})-Q([1-4])", text)):
        return Period(kind, dt.date(int(m[1]), (int(m[2]) - 1) * 3 + 1, 1))
    if kind == "year" and re.fullmatch(r"\d{4}", text):
        return Period(kind, dt.date(int(text), 1, 1))
    raise ValidationError(BAD_PERIOD)
