"""The cost of one page: each page the load benchmark works, in-process, N times per user.

    .venv/bin/python bench/pages.py --n 50                   # the demo city in a SQLite file under var/bench/pages/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kangfu_bench_pages .venv/bin/python bench/pages.py --n 50
    .venv/bin/python bench/pages.py --n 20 --profile 40      # and cProfile's 40 costliest functions on stderr

Builds the demo city once (`migrate` and `demo`, reused on later runs), then signs in as a street
officer (dayingmen), a district officer (hexi.admin) and the city (shi.admin), and requests each page
of their round in `bench/load.py` (the people list and a person's record, the 两项补贴 worklist and
grants, the comparison's items, the statistics, the reports) and the home page, N times each through
the whole Django stack with the test client. Per page it prints the median and p95 wall time, the
median **process CPU time** (`time.process_time`: what the page costs this process, which other
sessions' load on the machine barely moves), and the queries and rows written per request (from a
database execute wrapper: INSERT, UPDATE and DELETE row counts; the session row and audit rows are
what pages write). The load average is printed beside the figures, before and after. The last line is
one JSON object. Goal (issue: production): a ceiling of 150 requests/s on two cores, so about
13 ms of CPU per page on average with the server's share of the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

ROLES = {  # bench/load.py's rounds, and the home page every user lands on
    "dayingmen": ["/", "/people/", "PERSON", "/subsidies/", "/subsidies/grants/", "/matching/"],
    "hexi.admin": [
        "/",
        "/subsidies/",
        "/subsidies/grants/",
        "/reports/subsidies/",
        "/matching/",
        "/reports/",
    ],
    "shi.admin": ["/", "/people/", "/reports/subsidies/", "/reports/"],
}
WRITES = ("INSERT", "UPDATE", "DELETE")
PERSON_URL = re.compile(r"/people/\d+/")


def configure() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kangfu.settings")
    os.environ.setdefault("KANGFU_ENV_FILE", "/nonexistent")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0123456789abcdefghijkl")
    os.environ.setdefault("KANGFU_INSECURE_HTTP", "1")
    os.environ.setdefault("KANGFU_DATA_KEYS", "bench:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
    os.environ.setdefault("KANGFU_INDEX_KEY", "aW5kZXgta2V5LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ["KANGFU_LOG_LEVEL"] = "WARNING"
    os.environ["KANGFU_CACHE_DIR"] = str(ROOT / "var" / "bench" / "pages" / "cache")
    # The city's administrator needs a second factor, which force_login does not give (every page would
    # answer 302 to /two-factor/); the middleware still runs and asks on every request.
    os.environ.setdefault("KANGFU_TWO_FACTOR", "0")
    if not os.environ.get("DATABASE_URL"):
        folder = ROOT / "var" / "bench" / "pages"
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'demo.sqlite3'}"
    import django

    django.setup()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build(*, rebuild: bool) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    # A marker beside the benches' files says the demo finished for this database (a failed demo
    # leaves its first apps' rows, and is run again: it is idempotent).
    marker = ROOT / "var" / "bench" / "pages" / "built"
    marker.parent.mkdir(parents=True, exist_ok=True)
    if rebuild:
        marker.unlink(missing_ok=True)
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    built = marker.read_text().splitlines() if marker.exists() else []
    if os.environ["DATABASE_URL"] in built:
        return 0.0
    log("building the demo city …")
    call_command("demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    marker.write_text("\n".join([*built, os.environ["DATABASE_URL"]]) + "\n")
    return time.perf_counter() - started


class Meter:
    """Counts queries and rows written on the default connection (an execute wrapper, so that the
    figures need no DEBUG and cost next to nothing)."""

    def __init__(self) -> None:
        self.queries = 0
        self.written = 0
        self.statements: list[str] = []
        self.keep = False

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        self.queries += 1
        if self.keep:
            self.statements.append(sql[:160])
        if sql.lstrip()[:6].upper() in WRITES:
            rows = context["cursor"].rowcount
            if rows <= 0 and sql.lstrip()[:6].upper() == "INSERT":
                # An INSERT … RETURNING has no row count on SQLite: its rows are its parameters by
                # columns (or, run many times, the sets of them).
                columns = sql[sql.index("(") + 1 : sql.index(")")].count(",") + 1
                rows = len(params or ()) if many else len(params or ()) // columns
            self.written += max(rows, 0)
        return result


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def measure(n: int, profile: int, show_queries: bool, only: str) -> dict:
    from django.db import connection
    from django.test import Client

    from kangfu.core.models import User

    meter = Meter()
    profiler = cProfile.Profile() if profile else None
    results: dict[str, dict] = {}
    with connection.execute_wrapper(meter):
        for username, pages in ROLES.items():
            client = Client()
            client.force_login(User.objects.get(username=username))
            person = None
            for page in pages:
                if page == "PERSON":
                    if person is None:
                        continue
                    page = person
                name = f"{username} {PERSON_URL.sub('/people/<id>/', page)}"
                if only not in name and only.rstrip("$") != name:
                    continue
                response = client.get(page)  # warm: templates, the user's caches
                if response.status_code != 200:
                    raise SystemExit(f"{username} {page}: HTTP {response.status_code}")
                if page == "/people/" and person is None:
                    found = re.findall(r'href="(/people/\d+/)"', response.content.decode())
                    person = found[0] if found else None
                walls, cpus = [], []
                meter.queries = meter.written = 0
                meter.keep, meter.statements = show_queries, []
                for _ in range(n):
                    wall, cpu = time.perf_counter(), time.process_time()
                    if profiler is not None:
                        profiler.enable()
                    client.get(page)
                    if profiler is not None:
                        profiler.disable()
                    cpus.append(time.process_time() - cpu)
                    walls.append(time.perf_counter() - wall)
                key = f"{username} {PERSON_URL.sub('/people/<id>/', page)}"
                results[key] = {
                    "wall_ms_p50": round(statistics.median(walls) * 1000, 1),
                    "wall_ms_p95": round(percentile(walls, 95) * 1000, 1),
                    "cpu_ms_p50": round(statistics.median(cpus) * 1000, 1),
                    "queries": round(meter.queries / n, 1),
                    "rows_written": round(meter.written / n, 1),
                }
                log(f"{key:<40} {json.dumps(results[key])}")
                if show_queries:
                    for sql in meter.statements[: len(meter.statements) // n]:
                        log(f"    {sql}")
    if profiler is not None:
        profiler.dump_stats(ROOT / "var" / "bench" / "pages" / "profile.pstats")  # for pstats or snakeviz
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(profile)
        stats.sort_stats("tottime").print_stats(profile)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50, help="requests of each page by each user")
    parser.add_argument("--rebuild", action="store_true", help="load the demo city again")
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's N costliest functions")
    parser.add_argument("--queries", action="store_true", help="print one request's statements per page")
    parser.add_argument(
        "--only", default="", help="only the pages whose 'user path' contains this (ending in $: is this)"
    )
    args = parser.parse_args()

    configure()
    from django.db import connection

    build_seconds = build(rebuild=args.rebuild)
    load_before = os.getloadavg()
    pages = measure(args.n, args.profile, args.queries, args.only)
    load_after = os.getloadavg()
    cpu = [p["cpu_ms_p50"] for p in pages.values()]
    print(
        json.dumps(
            {
                "db": connection.vendor,
                "n": args.n,
                "build_seconds": round(build_seconds, 1),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in load_after],
                "pages": pages,
                "cpu_ms_mean_of_medians": round(statistics.mean(cpu), 1),
                "queries_mean": round(statistics.mean(p["queries"] for p in pages.values()), 1),
                "rows_written_mean": round(statistics.mean(p["rows_written"] for p in pages.values()), 1),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
