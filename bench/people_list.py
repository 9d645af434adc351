"""Benchmark: the people list and ID search at scale.

    .venv/bin/python bench/people_list.py --n 1000000            # SQLite file under var/bench/
    DATABASE_URL=postgres://... .venv/bin/python bench/people_list.py --n 1000000

Builds (once, then reuses) a synthetic registry of N people, then times the list page and the
searches through the whole Django stack (middleware, access scoping, rendering) with the test
client, as a city, a district and a street user. The last line printed is one JSON object.
Goal (issue #2): median under 100 ms for the list and for an ID search, and a query count per page
that does not depend on N or on the page number.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

GOAL_MS = 100.0


def configure(n: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kangfu.settings")
    os.environ.setdefault("KANGFU_ENV_FILE", "/nonexistent")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0123456789abcdefghijkl")
    os.environ.setdefault("KANGFU_INSECURE_HTTP", "1")
    os.environ.setdefault("KANGFU_DATA_KEYS", "bench:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
    os.environ.setdefault("KANGFU_INDEX_KEY", "aW5kZXgta2V5LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    # The benches time pages, not signing in: an admin's second factor would answer every page with a
    # redirect to /two-factor/.
    os.environ.setdefault("KANGFU_TWO_FACTOR", "0")
    if not os.environ.get("DATABASE_URL"):
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / f'people-{n}.sqlite3'}"
    import django

    django.setup()


def build(n: int, seed: int) -> float:
    from django.core.management import call_command

    from kangfu.core.models import Region
    from kangfu.people.models import Person
    from kangfu.people.synth import synthesise

    call_command("migrate", verbosity=0)
    if not Region.objects.exists():
        call_command("regions", "import", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    have = Person.objects.count()
    started = time.perf_counter()
    if have < n:
        print(f"building {n - have} people …", file=sys.stderr)
        synthesise(
            people=n - have,
            seed=seed + have,
            batch_size=10000,
            progress=lambda done: print(f"  {done}", file=sys.stderr) if done % 100000 == 0 else None,
        )
    from django.db import connection

    # The steady state of a live database: statistics gathered and, on PostgreSQL, the visibility
    # map set by (auto)vacuum, without which no index-only scan is planned after a bulk load.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return time.perf_counter() - started


def timed(client, path: str, params: dict, repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        assert client.get(path, params).status_code == 200
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, params)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(path, params)
    return statistics.median(samples), len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    configure(args.n)
    build_seconds = build(args.n, args.seed)

    from django.db import connection
    from django.test import Client

    from kangfu.core.models import Role, User
    from kangfu.people.models import Person

    def client_for(username: str, role: str, jurisdiction: str) -> Client:
        user, _ = User.objects.update_or_create(
            username=username, defaults={"role": role, "jurisdiction_id": jurisdiction, "is_active": True}
        )
        client = Client()
        client.force_login(user)
        return client

    city = client_for("bench.city", Role.CITY_ADMIN, "120100000000")
    district = client_for("bench.district", Role.DISTRICT_ADMIN, "120103000000")
    street = client_for("bench.street", Role.STREET_OFFICER, "120103001000")
    sample = Person.objects.order_by("pk")[Person.objects.count() // 2]
    figures = {"n": Person.objects.count(), "db": connection.vendor, "build_seconds": round(build_seconds, 1)}
    scenarios = {
        "list_city": (city, {}),
        "list_district": (district, {}),
        "list_street": (street, {}),
        "list_city_page_200": (city, {"page": 200}),
        "id_search_city": (city, {"q": sample.id_number}),
        "name_prefix_city": (city, {"q": sample.name[:2]}),
        "filter_grade_city": (city, {"category": 4, "grade": 1}),
    }
    queries = {}
    for name, (client, params) in scenarios.items():
        median, count = timed(client, "/people/", params, args.repeat)
        figures[f"{name}_median_ms"] = round(median, 1)
        queries[name] = count
    figures["queries_per_page"] = queries
    # Constant means: the same user pays the same number of queries whatever the page, search or N.
    by_user = {
        "city": [v for k, v in queries.items() if k.endswith("_city") or "_city_" in k],
        "district": [queries["list_district"]],
        "street": [queries["list_street"]],
    }
    figures["query_count_constant"] = all(len(set(v)) == 1 for v in by_user.values())
    figures["goal_ms"] = GOAL_MS
    figures["list_ratio_to_goal"] = round(figures["list_city_median_ms"] / GOAL_MS, 2)
    figures["id_search_ratio_to_goal"] = round(figures["id_search_city_median_ms"] / GOAL_MS, 2)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
