"""Benchmark: a district's monthly data comparison over N active grants and feeds of M rows each,
against its floor computed by DuckDB.

    .venv/bin/python bench/compare.py --n 1000000 --feed-rows 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kangfu_compare .venv/bin/python bench/compare.py --n 1000000

Builds (once) the payroll benchmark's district of N grants (half 生活补贴, half 护理补贴) with one locked
payroll, then feeds of M rows of each kind (death, prison, move, certificate cancellations and changes,
new certificates, the 低保 roster, 老年人护理补贴): a tenth of each feed names recipients, the rest people
the district does not pay; the 低保 roster names the first M 生活补贴 recipients. It times a full run
(every rule, then the items written in one transaction, rolled back afterwards) and, in the same
process, the floor: the same items counted by DuckDB over the same data exported to Parquet. The last
line printed is one JSON object. Goal (issue #5): under 20 s, and within 3× of the floor.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

GOAL_SECONDS = 20.0
GOAL_RATIO = 3.0
MONTH = dt.date(2026, 11, 1)
PAID = dt.date(2026, 10, 1)
KINDS = {
    "death": {"id_number": "身份证号", "event_date": "死亡日期"},
    "prison": {"id_number": "身份证号", "event_date": "判决生效日期"},
    "move": {"id_number": "身份证号", "event_date": "迁出日期", "region": "迁入地"},
    "cert_cancel": {"id_number": "身份证号", "event_date": "注销日期"},
    "cert_change": {"id_number": "身份证号", "category": "类别", "grade": "等级", "event_date": "变更日期"},
    "cert_new": {"id_number": "身份证号", "category": "类别", "grade": "等级"},
    "dibao": {"id_number": "身份证号"},
    "elderly_care": {"id_number": "身份证号"},
}


def configure(n: int) -> None:
    if not os.environ.get("DATABASE_URL"):
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / f'compare-{n}.sqlite3'}"
    from people_list import configure as configure_people

    configure_people(n)


def build(n: int, feed_rows: int) -> float:
    import time_machine

    from kangfu.core.ids import check_character
    from kangfu.core.models import Region
    from kangfu.matching import services
    from kangfu.matching.models import FeedImport, FeedSource
    from kangfu.subsidies.models import Payroll
    from kangfu.subsidies.services.payroll import payroll_lock, payroll_run

    started = time.perf_counter()
    import payroll as payroll_bench

    payroll_bench.build(n)
    district = Region.objects.get(code=payroll_bench.DISTRICT)
    if not Payroll.objects.filter(district=district, month=PAID, status="locked").exists():
        with time_machine.travel(dt.datetime(2026, 10, 25, tzinfo=dt.UTC)):
            payroll_lock(actor=None, payroll=payroll_run(actor=None, district=district, month=PAID))
    if FeedImport.objects.filter(status="confirmed", period=MONTH).count() >= len(KINDS):
        return time.perf_counter() - started
    from kangfu.people.models import Person
    from kangfu.subsidies.models import Grant

    rng = random.Random(5)
    living = list(
        Grant.objects.filter(district=district, kind="living")
        .order_by("pk")
        .values_list("person_id", flat=True)[:feed_rows]
    )
    everyone = list(
        Grant.objects.filter(district=district).order_by("pk").values_list("person_id", flat=True)
    )
    ids = dict(
        Person.objects.filter(
            pk__in=set(living) | set(everyone[:: max(1, len(everyone) // feed_rows)])
        ).values_list("pk", "id_number")
    )
    for kind, mapping in KINDS.items():
        source, _ = FeedSource.objects.get_or_create(
            name=f"bench-{kind}", defaults={"kind": kind, "mapping": mapping}
        )
        lines = [",".join(mapping.values())]
        for i in range(feed_rows):
            if kind == "dibao":
                number = ids[living[i % len(living)]]
            elif i % 10 == 0:
                number = ids.get(everyone[(i * 7919) % len(everyone)]) or ids[living[0]]
            else:
                first17 = f"{990000 + i % 9000:06d}{dt.date(1950, 1, 1) + dt.timedelta(days=i % 20000):%Y%m%d}{i % 1000:03d}"
                number = first17 + check_character(first17)
            values = {
                "id_number": number,
                "event_date": "2026-08-15",
                "region": "110101001001",
                "category": "4",
                "grade": str(rng.choice([1, 2, 3])),
            }
            lines.append(",".join(values[f] for f in mapping))
        raw = ("\n".join(lines) + "\n").encode()
        feed = services.feed_preview(
            actor=None, source=source, raw=raw, file_name=f"{kind}.csv", period=MONTH
        )
        services.feed_confirm(actor=None, feed=feed)
        print(f"  feed {kind}: {feed.valid_lines}", file=sys.stderr)
    return time.perf_counter() - started


def run_seconds() -> tuple[float, dict]:
    from django.db import transaction

    from kangfu.core.models import Region
    from kangfu.matching.comparison import run_execute, run_start

    district = Region.objects.get(code="120103000000")
    with transaction.atomic():
        started = time.perf_counter()
        run = run_execute(run_start(actor=None, district=district, period=MONTH))
        elapsed = time.perf_counter() - started
        found = dict(run.found)
        transaction.set_rollback(True)
    return elapsed, found


def export_parquet(folder: Path) -> None:
    """The tables the rules read, as Parquet files DuckDB can scan (export time is not counted)."""
    import duckdb
    from django.db import connection

    queries = {
        "grants": "SELECT id, person_id, kind, status, district_id, street_id, start_month FROM subsidies_grant",
        "periods": "SELECT grant_id, from_month, to_month, grade FROM subsidies_grantperiod",
        "lines": "SELECT l.grant_id, l.month_for, l.amount FROM subsidies_payrollline l JOIN subsidies_payroll p ON p.id = l.payroll_id WHERE p.status = 'locked' AND l.bank_status <> 'failed'",
        "rows": "SELECT r.person_id, s.kind, r.event_date, r.region_id, r.grade FROM matching_feedrow r JOIN matching_feedimport f ON f.id = r.feed_id JOIN matching_feedsource s ON s.id = f.source_id WHERE f.status = 'confirmed' AND r.person_id IS NOT NULL",
        "certs": "SELECT person_id, grade, expires_on FROM people_disabilitycertificate WHERE status = 'valid'",
        "apps": "SELECT person_id FROM subsidies_application WHERE status NOT IN ('approved', 'rejected')",
    }
    for name, sql in queries.items():
        path = folder / f"{name}.csv"
        with connection.cursor() as cursor, path.open("w", newline="") as handle:
            cursor.execute(sql)
            writer = csv.writer(handle)
            writer.writerow([c[0] for c in cursor.description])
            while chunk := cursor.fetchmany(50000):
                writer.writerows(chunk)
        duckdb.sql(
            f"COPY (SELECT * FROM read_csv_auto('{path}', header=true)) TO '{folder / name}.parquet' (FORMAT parquet)"
        )


FLOOR_SQL = """
WITH g AS (SELECT * FROM '{d}/grants.parquet' WHERE CAST(district_id AS VARCHAR) = '120103000000' AND status <> 'stopped'),
r AS (SELECT person_id, kind, event_date, CAST(region_id AS VARCHAR) AS region_id, TRY_CAST(grade AS INTEGER) AS grade FROM '{d}/rows.parquet'),
stops AS (
  SELECT 'death' AS rule, person_id FROM r WHERE kind IN ('death', 'cremation')
  UNION ALL SELECT 'prison', person_id FROM r WHERE kind = 'prison'
  UNION ALL SELECT 'moved_out', person_id FROM r WHERE kind = 'move' AND region_id NOT LIKE '120103%'
  UNION ALL SELECT 'cert_cancelled', person_id FROM r WHERE kind = 'cert_cancel'
),
found AS (
  SELECT DISTINCT s.rule, s.person_id FROM stops s JOIN g ON g.person_id = s.person_id
  UNION ALL SELECT DISTINCT 'grade_changed', r.person_id FROM r JOIN g ON g.person_id = r.person_id
       JOIN (SELECT grant_id, arg_max(TRY_CAST(grade AS INTEGER), TRY_CAST(from_month AS DATE)) AS grade FROM '{d}/periods.parquet' GROUP BY grant_id) p ON p.grant_id = g.id
       WHERE r.kind = 'cert_change' AND r.grade <> p.grade
  UNION ALL SELECT DISTINCT 'cert_expired', g.person_id FROM g
       WHERE g.person_id NOT IN (SELECT TRY_CAST(person_id AS BIGINT) FROM '{d}/certs.parquet' WHERE expires_on IS NULL OR TRY_CAST(expires_on AS DATE) >= DATE '2026-11-01')
  UNION ALL SELECT DISTINCT 'left_dibao', g.person_id FROM g WHERE g.kind = 'living'
       AND g.person_id NOT IN (SELECT TRY_CAST(person_id AS BIGINT) FROM r WHERE kind IN ('dibao', 'dibao_edge'))
  UNION ALL SELECT DISTINCT 'overlap', g.person_id FROM g JOIN r ON r.person_id = g.person_id
       WHERE g.kind = 'care' AND r.kind IN ('elderly_care', 'work_injury')
  UNION ALL SELECT DISTINCT 'entitled', r.person_id FROM r WHERE r.kind IN ('cert_new', 'cert_change') AND r.grade <= 2
       AND r.person_id NOT IN (SELECT TRY_CAST(person_id AS BIGINT) FROM '{d}/grants.parquet' WHERE kind = 'care' AND status <> 'stopped')
       AND r.person_id NOT IN (SELECT TRY_CAST(person_id AS BIGINT) FROM '{d}/apps.parquet')
),
paid AS (SELECT grant_id, SUM(amount) AS paid FROM '{d}/lines.parquet' WHERE TRY_CAST(month_for AS DATE) >= DATE '2026-09-01' GROUP BY grant_id)
SELECT rule, COUNT(DISTINCT person_id) AS n FROM found GROUP BY rule
"""


def floor_seconds(folder: Path) -> tuple[float, dict]:
    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    rows = con.sql(FLOOR_SQL.format(d=folder)).fetchall()
    return time.perf_counter() - started, dict(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--feed-rows", type=int, default=100000)
    args = parser.parse_args()
    configure(args.n)
    build_seconds = build(args.n, args.feed_rows)
    from django.db import connection

    run, found = run_seconds()
    with tempfile.TemporaryDirectory() as folder:
        export_parquet(Path(folder))
        floor, floor_found = floor_seconds(Path(folder))
    print(
        json.dumps(
            {
                "n": args.n,
                "feed_rows": args.feed_rows,
                "db": connection.vendor,
                "build_seconds": round(build_seconds, 1),
                "compare_seconds": round(run, 2),
                "floor_seconds": round(floor, 3),
                "ratio_to_floor": round(run / floor, 1) if floor else None,
                "items_by_rule": found,
                "floor_items_by_rule": floor_found,
                "goal_seconds": GOAL_SECONDS,
                "goal_ratio": GOAL_RATIO,
                "meets_goal": run < GOAL_SECONDS and floor > 0 and run / floor <= GOAL_RATIO,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
