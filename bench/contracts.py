"""Benchmark: contracted against delivered for every 精康 contract of a city, on one page.

    .venv/bin/python bench/contracts.py --n 10000                     # SQLite file under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kangfu_bench_rehab .venv/bin/python bench/contracts.py --n 100000

Reuses the 精康 benchmark's data (`rehab_stats.py`: N enrolled people at 32 institutions in eight
districts, about a hundred attendances each over three years; the same database file), rebuilds its
counters once if a bulk load left them empty (`kangfu rehab recount`, as go-live does), and adds a
city fund and six half-year purchased-service contracts per institution through the programme's
services, every other one naming one of the institution's two sites (so only the sessions held there
count towards it). Then, as the city's administrator, times the contract list showing every contract at once
(`/programme/?per_page=…`, delivery read from the counters) and a page of 50, through the whole
Django stack with the test client, and counts the page's queries.
The last line printed is one JSON object. Goal (issue 19): every contract of a city in under 300 ms
(median) at N = 100,000 (10M attendances).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

GOAL_MS = 300.0
CITY = "120100000000"
HALF_YEARS = 6  # contracts per institution: the three years of the 精康 bench's calendar
SCOPES = (  # service types bought, cycling over the contracts
    ("social", "living", "vocational"),
    ("medication", "relapse", "physical"),
    ("psychological", "peer", "family"),
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def counters_filled() -> float:
    """Rebuild the counters once if the data were loaded in bulk without them."""
    from kangfu.rehab.models import MonthlyCount
    from kangfu.rehab.models.counters import ServedMonth
    from kangfu.rehab.services import counters

    if MonthlyCount.objects.exists() and ServedMonth.objects.exists():
        return 0.0
    started = time.perf_counter()
    counters.recount()
    took = time.perf_counter() - started
    from django.db import connection

    if connection.vendor == "postgresql":
        # As autovacuum would on a live database: until the rewritten counters' pages are marked
        # all-visible, the covering index cannot answer alone.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE rehab_monthlycount")
    return took


def city_admin():
    from kangfu.core.models import Organisation, OrganisationKind, Region, Role, User

    office, _ = Organisation.objects.get_or_create(
        region_id=CITY, name="天津市民政局", defaults={"kind": OrganisationKind.CIVIL_AFFAIRS}
    )
    user, _ = User.objects.update_or_create(
        username="bench.programme.city",
        defaults={
            "role": Role.CITY_ADMIN,
            "jurisdiction": Region.objects.get(code=CITY),
            "organisation": office,
            "is_active": True,
        },
    )
    return user


def contracts(admin, today: dt.date) -> int:
    """Six half-year contracts per institution, ending with the half-year in progress."""
    from kangfu.core.models import Organisation, OrganisationKind, Region
    from kangfu.core.months import add_months
    from kangfu.programme.models import Contract, FundSource
    from kangfu.programme.services import contracts as services

    have = Contract.objects.filter(title__startswith="bench ").count()
    institutions = list(
        Organisation.objects.filter(kind=OrganisationKind.REHAB_INSTITUTION, name__contains="第").order_by(
            "pk"
        )
    )
    wanted = len(institutions) * HALF_YEARS
    if have >= wanted:
        return have
    fund = services.fund_create(
        actor=admin,
        region=Region.objects.get(code=CITY),
        source=FundSource.WELFARE_LOTTERY,
        year=today.year,
        name="bench 精康服务福彩公益金",
        amount=Decimal("1000000000.00"),
    )
    last = dt.date(today.year, 1 if today.month <= 6 else 7, 1)
    halves = [add_months(last, -6 * i) for i in range(HALF_YEARS)]
    sites = {
        inst.pk: list(
            Organisation.objects.filter(parent=inst, kind=OrganisationKind.REHAB_SITE).order_by("pk")
        )
        for inst in institutions
    }
    for n, inst in enumerate(institutions):
        for i, first in enumerate(halves):
            ends = dt.date(first.year, 6, 30) if first.month == 1 else dt.date(first.year, 12, 31)
            services.contract_create(
                actor=admin,
                data=services.ContractData(
                    title=f"bench {inst.name} {first:%Y-%m}",
                    institution=inst,
                    fund=fund,
                    starts_on=first,
                    ends_on=ends,
                    amount=Decimal("200000.00"),
                    service_types=list(SCOPES[(n + i) % len(SCOPES)]),
                    # Every other contract buys the services of one of the institution's sites only.
                    sites=sites[inst.pk][:1] if i % 2 else [],
                    people=300,
                    sessions=400,
                    people_times=4000,
                    follow_ups=600,
                    staff_trained=3,
                ),
            )
    return Contract.objects.filter(title__startswith="bench ").count()


def timed(client, path: str, repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times[1:]), len(queries)  # the first warms the caches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="enrolled people (the 精康 bench's N)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=15, help="page loads to take the median of")
    args = parser.parse_args()

    import rehab_stats

    rehab_stats.configure(args.n)
    build_seconds = rehab_stats.build(args.n, args.seed)

    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    recount_seconds = counters_filled()
    admin = city_admin()
    made = contracts(admin, timezone.localdate())
    client = Client()
    client.force_login(admin)
    every, every_queries = timed(client, f"/programme/?per_page={made}", args.repeat)
    page, page_queries = timed(client, "/programme/", args.repeat)
    print(
        json.dumps(
            {
                "n": args.n,
                "db": connection.vendor,
                "build_seconds": round(build_seconds, 1),
                "recount_seconds": round(recount_seconds, 1),
                "contracts": made,
                "every_contract_median_ms": round(every, 1),
                "every_contract_queries": every_queries,
                "page_of_50_median_ms": round(page, 1),
                "page_of_50_queries": page_queries,
                "goal_ms": GOAL_MS,
                "meets_goal": every < GOAL_MS,
            }
        )
    )


if __name__ == "__main__":
    main()
