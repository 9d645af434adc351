"""Benchmark: a district's monthly data comparison over N active grants and feeds of M rows each,
against its floor computed by DuckDB.

    .venv/bin/python bench/compare.py --n 1000000 --feed-rows 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kangfu_compare .venv/bin/python bench/compare.py --n 1000000

Builds (once) the payroll benchmark's district of N grants (half 生活补贴, half 护理补贴) with one locked
payroll, then feeds of M rows of each kind (death, prison, move, certificate cancellations and changes,
new certificates, the 低保 roster, 老年人护理补贴): a tenth of each feed names recipients, the rest people
the district does not pay; the 低保 roster names the first M 生活补贴 recipients. It times a full run
(every rule, then the items written in one transaction, rolled back afterwards), what storing those
items alone costs in the same database, and, in the same process, the floor: the same items, each
with its grant, street, feed row, month and money, computed by DuckDB over the same data exported to
Parquet into a table of its own. Run and floor are compared rule by rule (count, money at stake). The
last line printed is one JSON object. Goal (issue #5): under 20 s, and within 3× of the floor.
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
DISTRICT = "120103000000"  # the payroll benchmark's district
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
    district = Region.objects.get(code=DISTRICT)
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


def run_seconds() -> tuple[float, dict, float]:
    from django.db import transaction
    from django.db.models import Count, Sum

    from kangfu.core.models import Region
    from kangfu.matching.comparison import run_execute, run_start
    from kangfu.matching.models import Item

    district = Region.objects.get(code=DISTRICT)
    with transaction.atomic():
        started = time.perf_counter()
        run = run_execute(run_start(actor=None, district=district, period=MONTH))
        checks_at_commit()
        elapsed = time.perf_counter() - started
        found = {
            row["rule"]: [row["n"], f"{row['total']:.2f}"]
            for row in Item.objects.filter(run=run)
            .values("rule")
            .annotate(n=Count("id"), total=Sum("amount_at_stake"))
            .order_by("rule")
        }
        store = store_seconds(run.pk)
        transaction.set_rollback(True)
    return elapsed, found, store


def checks_at_commit() -> None:
    """The work a commit would do and a rolled-back transaction skips: PostgreSQL's deferred
    constraint checks, run here so that they are timed."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def store_seconds(run_id: int) -> float:
    """What storing the run's items costs alone, with nothing to compute: the same rows put back into
    the items table with its indexes from a scratch copy (inside the bench's rolled-back transaction)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE scratch_items AS SELECT * FROM matching_item WHERE run_id = %s", [run_id]
        )
        cursor.execute("DELETE FROM matching_item WHERE run_id = %s", [run_id])
        started = time.perf_counter()
        cursor.execute("INSERT INTO matching_item SELECT * FROM scratch_items")
        checks_at_commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE scratch_items")
    return elapsed


def export_parquet(folder: Path) -> None:
    """The tables the rules read, as Parquet files DuckDB can scan (export time is not counted)."""
    import duckdb
    from django.db import connection

    queries = {
        "grants": "SELECT id, person_id, kind, status, district_id, street_id, start_month FROM subsidies_grant",
        "periods": "SELECT id, grant_id, from_month, grade FROM subsidies_grantperiod",
        "lines": "SELECT l.grant_id, l.month_for, l.amount FROM subsidies_payrollline l JOIN subsidies_payroll p ON p.id = l.payroll_id WHERE p.status = 'locked' AND l.bank_status <> 'failed'",
        "rows": "SELECT r.id, r.person_id, s.kind, r.event_date, r.region_id, r.grade, r.confidence FROM matching_feedrow r JOIN matching_feedimport f ON f.id = r.feed_id JOIN matching_feedsource s ON s.id = f.source_id WHERE f.status = 'confirmed' AND r.person_id IS NOT NULL",
        "certs": "SELECT person_id, grade, expires_on FROM people_disabilitycertificate WHERE status = 'valid'",
        "apps": "SELECT person_id FROM subsidies_application WHERE status NOT IN ('approved', 'rejected')",
        "people": "SELECT id, district_id, street_id FROM people_person",
    }
    types = {
        "start_month": "DATE",
        "from_month": "DATE",
        "month_for": "DATE",
        "event_date": "DATE",
        "expires_on": "DATE",
        "amount": "DECIMAL(12,2)",
        "region_id": "VARCHAR",
        "district_id": "VARCHAR",
        "street_id": "VARCHAR",
        "grade": "INTEGER",
        "id": "BIGINT",
        "person_id": "BIGINT",
        "grant_id": "BIGINT",
    }
    for name, sql in queries.items():
        path = folder / f"{name}.csv"
        with connection.cursor() as cursor, path.open("w", newline="") as handle:
            cursor.execute(sql)
            columns = [c[0] for c in cursor.description]
            writer = csv.writer(handle)
            writer.writerow(columns)
            while chunk := cursor.fetchmany(50000):
                writer.writerows(chunk)
        wanted = {c: types[c] for c in columns if c in types}
        duckdb.sql(
            f"COPY (SELECT * FROM read_csv('{path}', header=true, types={wanted!r})) "
            f"TO '{folder / name}.parquet' (FORMAT parquet)"
        )


# The same items as the run, each with its grant, street, feed row, effective month and money at stake,
# materialised into a table: what a column store needs at the least to compute what the run stores.
FLOOR_SQL = """
CREATE OR REPLACE TABLE items AS
WITH g AS (
  SELECT id, person_id, kind, street_id, start_month FROM '{d}/grants.parquet'
  WHERE district_id = '{district}' AND status <> 'stopped'),
r AS (SELECT * FROM '{d}/rows.parquet'),
l AS (SELECT * FROM '{d}/lines.parquet'),
std(kind, grade, amount) AS (VALUES {standards}),
cert AS (SELECT * FROM '{d}/certs.parquet'),
apps AS (SELECT DISTINCT person_id FROM '{d}/apps.parquet'),
people AS (SELECT * FROM '{d}/people.parquet' WHERE district_id = '{district}'),
ev AS (
  SELECT CASE WHEN kind IN ('death', 'declared_death', 'cremation') THEN 'death' WHEN kind = 'prison' THEN 'prison'
              WHEN kind = 'move' THEN 'moved_out' ELSE 'cert_cancelled' END AS rule, *
  FROM r WHERE kind IN ('death', 'declared_death', 'cremation', 'prison', 'move', 'cert_cancel')
    AND NOT (kind = 'move' AND coalesce(region_id, '') LIKE '{prefix}%')),
first AS (
  SELECT rule, person_id, arg_min(id, (event_date, id)) AS row_id, min(event_date) AS event_date,
         arg_min(confidence, (event_date, id)) AS confidence
  FROM ev GROUP BY rule, person_id),
hits AS (
  SELECT f.rule, g.person_id, g.id AS grant_id, g.street_id, f.row_id, f.confidence,
         greatest(date_trunc('month', coalesce(f.event_date, DATE '{period}')) + INTERVAL 1 MONTH, g.start_month)::DATE AS stop
  FROM first f JOIN g USING (person_id)
  UNION ALL
  SELECT 'cert_expired', g.person_id, g.id, g.street_id, NULL, 'high',
         greatest(coalesce(date_trunc('month', c.expires_on) + INTERVAL 1 MONTH, DATE '{period}'), g.start_month)::DATE
  FROM g LEFT JOIN cert c USING (person_id)
  WHERE c.person_id IS NULL OR c.expires_on < DATE '{period}'
  UNION ALL
  SELECT 'left_dibao', g.person_id, g.id, g.street_id, NULL, 'high', DATE '{period}'
  FROM g ANTI JOIN (SELECT person_id FROM r WHERE kind IN ('dibao', 'dibao_edge')) d USING (person_id)
  WHERE g.kind = 'living'),
paid AS (
  SELECT h.rule, h.grant_id, sum(l.amount) AS paid
  FROM hits h JOIN l ON l.grant_id = h.grant_id AND l.month_for >= h.stop GROUP BY ALL),
change AS (
  SELECT person_id, arg_max(id, (event_date, id)) AS row_id, arg_max(grade, (event_date, id)) AS grade,
         max(event_date) AS event_date, arg_max(confidence, (event_date, id)) AS confidence
  FROM r WHERE kind = 'cert_change' GROUP BY person_id),
current AS (SELECT grant_id, arg_max(grade, (from_month, id)) AS grade FROM '{d}/periods.parquet' GROUP BY grant_id),
regraded AS (
  SELECT g.person_id, g.id AS grant_id, g.street_id, c.row_id, c.confidence,
         greatest(date_trunc('month', c.event_date) + INTERVAL 1 MONTH, g.start_month)::DATE AS month,
         abs(o.amount - n.amount) AS diff
  FROM change c JOIN g USING (person_id) JOIN current p ON p.grant_id = g.id
  JOIN std o ON o.kind = g.kind AND o.grade = p.grade JOIN std n ON n.kind = g.kind AND n.grade = c.grade
  WHERE c.grade IS NOT NULL AND c.grade <> p.grade),
entitled AS (
  SELECT r.person_id, arg_max(r.id, r.id) AS row_id, arg_max(r.confidence, r.id) AS confidence, max(p.street_id) AS street_id,
         arg_max(s.amount, r.id) AS amount
  FROM r JOIN people p ON p.id = r.person_id JOIN std s ON s.kind = 'care' AND s.grade = r.grade
  WHERE r.kind IN ('cert_new', 'cert_change') AND r.grade <= 2
    AND r.person_id NOT IN (SELECT person_id FROM '{d}/grants.parquet' WHERE kind = 'care' AND status <> 'stopped')
    AND r.person_id NOT IN (SELECT person_id FROM apps)
  GROUP BY r.person_id),
poor AS (
  SELECT r.person_id, max(r.id) AS row_id, arg_max(r.confidence, r.id) AS confidence, max(p.street_id) AS street_id,
         max(s.amount) AS amount
  FROM r JOIN people p ON p.id = r.person_id JOIN cert c ON c.person_id = r.person_id
  JOIN std s ON s.kind = 'living' AND s.grade = c.grade
  WHERE r.kind IN ('dibao', 'dibao_edge') AND (c.expires_on IS NULL OR c.expires_on >= DATE '{period}')
    AND r.person_id NOT IN (SELECT person_id FROM '{d}/grants.parquet' WHERE kind = 'living' AND status <> 'stopped')
    AND r.person_id NOT IN (SELECT person_id FROM apps)
    AND r.person_id NOT IN (SELECT person_id FROM entitled)
  GROUP BY r.person_id)
SELECT h.rule, h.person_id, min(h.grant_id) AS grant_id, min(h.street_id) AS street_id, min(h.row_id) AS row_id,
       min(h.confidence) AS confidence, coalesce(sum(p.paid), 0) AS amount, min(h.stop) AS effective_month
FROM hits h LEFT JOIN paid p USING (rule, grant_id) GROUP BY h.rule, h.person_id
UNION ALL
SELECT 'grade_changed', person_id, min(grant_id), min(street_id), min(row_id), min(confidence),
       sum(diff * greatest(0, datediff('month', month, DATE '{period}') + 1)), min(month)
FROM regraded GROUP BY person_id
UNION ALL
SELECT 'overlap', g.person_id, g.id, g.street_id, max(r.id), max(r.confidence), 0, DATE '{period}'
FROM g JOIN r USING (person_id) WHERE g.kind = 'care' AND r.kind IN ('elderly_care', 'work_injury')
GROUP BY g.person_id, g.id, g.street_id
UNION ALL SELECT 'entitled', person_id, NULL, street_id, row_id, confidence, amount, NULL FROM entitled
UNION ALL SELECT 'entitled', person_id, NULL, street_id, row_id, confidence, amount, NULL FROM poor
"""


def floor_seconds(folder: Path) -> tuple[float, dict]:
    import duckdb

    from kangfu.matching.rules import Context

    ctx = Context(district=DISTRICT, period=MONTH)
    standards = ", ".join(
        f"('{kind}', {grade}, {ctx.amount(kind, grade)})"
        for kind in ("living", "care")
        for grade in (1, 2, 3, 4)
    )
    sql = FLOOR_SQL.format(
        d=folder, district=DISTRICT, prefix=DISTRICT[:6], period=MONTH, standards=standards
    )
    con = duckdb.connect()
    started = time.perf_counter()
    con.sql(sql)
    elapsed = time.perf_counter() - started
    rows = con.sql("SELECT rule, count(*), sum(amount) FROM items GROUP BY rule").fetchall()
    return elapsed, {rule: [n, f"{total:.2f}"] for rule, n, total in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--feed-rows", type=int, default=100000)
    args = parser.parse_args()
    configure(args.n)
    build_seconds = build(args.n, args.feed_rows)
    from django.db import connection

    run, found, store = run_seconds()
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
                "store_items_seconds": round(store, 2),
                "items_by_rule": found,  # [count, money at stake]
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
