"""Deadlines counted in working days (工作日): Monday to Friday, less public holidays, plus weekend
days worked in exchange, as the `CalendarDay` table lists them.

The table is seeded from the State Council's yearly holiday notices as the `chinese-calendar`
package ships them (migration core 0005), and `kangfu calendar sync` adds the years a newer package
knows. A year is taken from the package only while the table has no day of it: once a year has
rows, whether seeded or typed in by an administrator (a notice the package does not know yet, a
local day off), they are the administrator's to edit and a sync leaves them alone; `--replace`
takes a year anew from the package on purpose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from kangfu.core import audit
from kangfu.core.models import AuditAction, CalendarDay, User

# The names the State Council's notices use; the package's own Chinese names are shortened (清明, 端午).
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
IN_LIEU = "调休上班"


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


# ------------------------------------------------------------------ the State Council's calendar


def _holiday_name(english: str) -> str:
    if english in HOLIDAY_NAMES:
        return HOLIDAY_NAMES[english]
    # A holiday a newer package adds (a one-off commemoration) keeps the package's own Chinese name.
    from chinese_calendar import Holiday

    try:
        return Holiday(english).chinese
    except ValueError:
        return english


def state_council_days() -> dict[dt.date, tuple[str, bool]]:
    """Every exception to the Monday–Friday week the installed `chinese-calendar` knows: holidays
    (weekend days inside a holiday included) and weekend days worked in exchange, as
    day → (name, is_workday)."""
    import chinese_calendar

    days = {day: (_holiday_name(english), False) for day, english in chinese_calendar.holidays.items()}
    for day, english in chinese_calendar.workdays.items():
        days[day] = (f"{_holiday_name(english)}{IN_LIEU}", True)
    return days


@dataclass
class CalendarSyncReport:
    added: dict[int, int] = field(default_factory=dict)  # year → days added
    replaced: dict[int, int] = field(default_factory=dict)  # year → rows removed before adding
    kept: list[int] = field(default_factory=list)  # years the package knows that already had rows
    package_years: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced)


def state_council_days_load(
    model: type[CalendarDay] = CalendarDay, *, replace: Iterable[int] = (), dry_run: bool = False
) -> CalendarSyncReport:
    """Write the package's days of every year the table has no day of, and of the `replace` years
    after removing that year's rows. Takes the model so that migration 0005 can pass its historical
    one; the caller holds the transaction."""
    shipped = state_council_days()
    replace = set(replace)
    report = CalendarSyncReport(package_years=sorted({day.year for day in shipped}))
    unknown = replace - set(report.package_years)
    if unknown:
        raise ValueError(f"chinese-calendar 不含 {'、'.join(map(str, sorted(unknown)))} 年的节假日安排。")
    present = {first.year for first in model.objects.dates("day", "year")}
    rows = []
    for year in report.package_years:
        if year in present and year not in replace:
            report.kept.append(year)
            continue
        if year in present:
            existing = model.objects.filter(day__year=year)
            report.replaced[year] = existing.count()
            if not dry_run:
                existing.delete()
        year_days = sorted(day for day in shipped if day.year == year)
        report.added[year] = len(year_days)
        rows += [model(day=day, name=shipped[day][0], is_workday=shipped[day][1]) for day in year_days]
    if rows and not dry_run:
        model.objects.bulk_create(rows, batch_size=500)
    return report


def calendar_sync(
    *, actor: User | None, replace: Iterable[int] = (), dry_run: bool = False
) -> CalendarSyncReport:
    """`state_council_days_load` in one transaction with its audit row; a run that changes nothing
    leaves no trace, so the command is safe to schedule."""
    with transaction.atomic():
        report = state_council_days_load(CalendarDay, replace=replace, dry_run=dry_run)
        if report.changed and not dry_run:
            added = "、".join(f"{year} 年 {n} 天" for year, n in report.added.items())
            audit.record(
                actor=actor,
                action=AuditAction.IMPORT,
                object_type="core.calendarday",
                summary=f"按国务院节假日安排（chinese-calendar）导入节假日与调休：{added}"
                + (f"；重新导入 {'、'.join(map(str, report.replaced))} 年" if report.replaced else ""),
            )
    return report
