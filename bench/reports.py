"""Benchmark: every district's reports for the period and the city's aggregate, and a report's page.

    .venv/bin/python bench/reports.py --n 1000000                     # SQLite file under var/bench/
    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE kangfu_bench_reports' postgres
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kangfu_bench_reports .venv/bin/python bench/reports.py --n 1000000
    .venv/bin/python bench/reports.py --n 100000 --only subsidy-monthly   # one definition's round

Builds (once, then reuses) a city of N people: the 精康 benchmark's data for N/10 enrolled people (eight
districts, their sessions, attendances, follow-ups, assessments and rosters; `rehab_stats.py`, with
the counters the 精康 measures read rebuilt once by `recount`, as after a go-live import), the
payroll benchmark's 0.3 N grants (in 河西区, `payroll.py`) with a year of payrolls computed and locked
through the services, and the rest of the registry synthesised (`people_list.py`). Then, as each
district's civil-affairs admin, generates and submits every shipped report for its latest closed
period (the monthly 两项补贴 and 辅具 reports, the quarterly 精康 report) through `reports.services`, and
as the city admin generates the city's aggregates from those snapshots: the whole round is timed.
Last, a submitted report's page through the whole Django stack (median of `--repeat`).
The last line printed is one JSON object. Goals (issue: 上报 and exchange): the round under 30 s at
N = 1,000,000 on both databases; the page's median under 300 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

GOAL_SECONDS = 30.0
GOAL_PAGE_MS = 300.0
GRANT_DISTRICT = "120103000000"  # payroll.DISTRICT, 河西区
YEAR_END = dt.date(2026, 11, 1)  # the last payroll month; the reports' periods end by then


def configure(n: int) -> None:
    if not os.environ.get("DATABASE_URL"):
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / f'reports-{n}.sqlite3'}"
    from people_list import configure as configure_people

    configure_people(n)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _months(last: dt.date, count: int) -> list[dt.date]:
    out, month = [], last
    for _ in range(count):
        out.append(month)
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return out[::-1]


def _year_of_payrolls() -> None:
    """Twelve months computed and locked by two admins of the district, as the services do it."""
    import time_machine

    from kangfu.core.models import Region, Role, User
    from kangfu.subsidies.models import Payroll
    from kangfu.subsidies.services.payroll import payroll_lock, payroll_run

    district = Region.objects.get(code=GRANT_DISTRICT)
    maker, _ = User.objects.get_or_create(
        username="bench.payroll", defaults={"role": Role.DISTRICT_ADMIN, "jurisdiction": district}
    )
    checker, _ = User.objects.get_or_create(
        username="bench.lock", defaults={"role": Role.DISTRICT_ADMIN, "jurisdiction": district}
    )
    for month in _months(YEAR_END, 12):
        if Payroll.objects.filter(district=district, month=month).exists():
            continue
        started = time.perf_counter()
        day = dt.datetime(month.year, month.month, 20, 10, tzinfo=dt.UTC)
        with time_machine.travel(day):
            payroll = payroll_run(actor=maker, district=district, month=month)
            payroll_lock(actor=checker, payroll=payroll)
        log(f"  payroll {month:%Y-%m}: {payroll.line_count} lines, {time.perf_counter() - started:.1f} s")


def _rehab_counters() -> None:
    """The 精康 data are loaded in bulk, past the services that keep the counters the reports read (the
    monthly counts and the served months): rebuild them once, as go-live does after an import."""
    from kangfu.rehab.models import MonthlyCount
    from kangfu.rehab.models.counters import ServedMonth
    from kangfu.rehab.services import counters

    if MonthlyCount.objects.exists() and ServedMonth.objects.exists():
        return
    started = time.perf_counter()
    rows = counters.recount()
    log(
        f"  精康 counters rebuilt: {rows} monthly counts, {ServedMonth.objects.count()} served months, "
        f"{time.perf_counter() - started:.1f} s"
    )


def build(n: int, seed: int) -> float:
    import payroll as payroll_bench
    import rehab_stats
    from django.db import connection
    from people_list import build as build_people

    started = time.perf_counter()
    log(f"精康: {n // 10} enrolled people …")
    rehab_stats.build(n // 10, seed)
    _rehab_counters()
    log(f"两项补贴: {3 * n // 10} grants …")
    payroll_bench.build(3 * n // 10)
    _year_of_payrolls()
    log(f"registry up to {n} people …")
    build_people(n, seed)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return time.perf_counter() - started


def _admins():
    from kangfu.core.models import Region, RegionLevel, Role, User

    city = Region.objects.get(code="120100000000")
    districts = list(
        Region.objects.filter(level=RegionLevel.DISTRICT, parent=city, successor__isnull=True).order_by(
            "code"
        )
    )
    admins = {}
    for region in [city, *districts]:
        role = Role.CITY_ADMIN if region == city else Role.DISTRICT_ADMIN
        admins[region.code], _ = User.objects.update_or_create(
            username=f"bench.report.{region.code}",
            defaults={"role": role, "jurisdiction": region, "is_active": True},
        )
    return admins.pop(city.code), list(admins.values())


def round_seconds(today: dt.date, only: list[str] | None = None) -> tuple[float, int, dict[str, float]]:
    """Generate and submit every district's reports, then the city's: (seconds, reports made, seconds
    per report definition). `only` limits the round to those definitions' codes."""
    from django.db import transaction

    from kangfu.reports import rules, selectors, services
    from kangfu.reports.models import Report

    city_admin, district_admins = _admins()
    Report.objects.filter(generated_by__username__startswith="bench.report.").delete()
    definitions = [d for d in selectors.definitions_current() if not only or d.code in only]
    made = 0
    started = time.perf_counter()
    each: dict[str, float] = {}
    for definition in definitions:
        began = time.perf_counter()
        period = rules.last_closed(definition.period, today)[0]
        for admin in district_admins:
            with transaction.atomic():
                report = services.report_generate(
                    actor=admin, code=definition.code, period=period, today=today
                )
                services.report_submit(actor=admin, report=report, note="bench")
            made += 1
        services.report_generate(actor=city_admin, code=definition.code, period=period, today=today)
        made += 1
        each[definition.code] = round(time.perf_counter() - began, 2)
    return time.perf_counter() - started, made, each


def sample_report() -> int:
    """河西区's submitted monthly report with the most rows behind it (the 两项补贴 one)."""
    from kangfu.reports.models import Report

    return (
        Report.objects.filter(unit_id=GRANT_DISTRICT, status="submitted", code="subsidy-monthly")
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )


def page_ms(pk: int, repeat: int) -> float:
    from django.test import Client

    from kangfu.core.models import User

    client = Client()
    client.force_login(User.objects.get(username=f"bench.report.{GRANT_DISTRICT}"))
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        response = client.get(f"/reports/r/{pk}/")
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times[1:])  # the first warms the caches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="people in the city")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=15, help="page loads to take the median of")
    parser.add_argument(
        "--only", default="", help="time only these report definitions (codes, comma-separated)"
    )
    args = parser.parse_args()
    configure(args.n)
    build_seconds = build(args.n, args.seed)

    from django.db import connection

    today = YEAR_END + dt.timedelta(days=40)  # every report's period closed
    only = [code for code in args.only.split(",") if code]
    rounds = [round_seconds(today, only) for _ in range(2)]  # the first also warms the caches
    seconds, made, each = min(rounds)
    sample = sample_report()  # none when `--only` leaves out the 两项补贴 report
    page = page_ms(sample, args.repeat) if sample else None
    print(
        json.dumps(
            {
                "n": args.n,
                "db": connection.vendor,
                "build_seconds": round(build_seconds, 1),
                "reports": made,
                "round_seconds": round(seconds, 2),
                "definition_seconds": each,
                "page_median_ms": round(page, 1) if page is not None else None,
                "goal_seconds": GOAL_SECONDS,
                "goal_page_ms": GOAL_PAGE_MS,
                "meets_goal": seconds < GOAL_SECONDS and page is not None and page < GOAL_PAGE_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
