"""Benchmark: a district's monthly data comparison over N active grants and feeds of M rows each,
against a same-database floor and, beside it, DuckDB.

    .venv/bin/python bench/compare.py --n 1000000 --feed-rows 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kangfu_bench_compare .venv/bin/python bench/compare.py --n 1000000

Builds (once) the payroll benchmark's district of N grants (half 生活补贴, half 护理补贴) with one locked
payroll, changes the registry the way a district's does (see `prepare_registry`), then imports through
the real feed services twelve feeds of M rows: death, prison, 宣告失踪, move, certificate cancellations,
changes, renewals and new certificates, the 低保 and 特困 rosters, 老年人护理补贴 and 工伤保险生活护理费
with their monthly amounts. A tenth of each feed names recipients, the rest people the district does not
pay; the 低保 roster names the first M 生活补贴 recipients; in the death, 宣告失踪 and 特困 feeds one line
in a hundred has no ID, only a name and birth date two recipients share.

It times, in turns (the order alternating; `--repeat`, best of each), each in its own transaction
that is rolled back (on PostgreSQL after the deferred checks a commit would run, and followed by a
VACUUM of the items table), in wall and in CPU seconds (this process and its PostgreSQL server process):
- the run (`run_execute`: every rule staged, then all items written in one transaction);
- the floor: for each rule one hand-written INSERT … SELECT writing the same items straight into the
  same items table (`compare_floor.py`), checked row for row against the run's;
then what storing the run's items alone costs, and DuckDB computing the same items (count and money
per rule) over the same tables exported to Parquet, which must agree with the run's counts. The last
line printed is one JSON object. Goal: under 20 s, and within 3× of the same-database floor.
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
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

GOAL_SECONDS = 20.0
GOAL_RATIO = 3.0
DISTRICT = "120103000000"  # the payroll benchmark's district
MONTH = dt.date(2026, 11, 1)
PAID = dt.date(2026, 10, 1)
WHO = {"id_number": "身份证号", "name": "姓名", "birth_date": "出生日期"}  # feeds with lines without an ID
KINDS = {
    "death": {**WHO, "event_date": "死亡日期"},
    "prison": {"id_number": "身份证号", "event_date": "判决生效日期"},
    "declared_missing": {**WHO, "event_date": "判决生效日期"},
    "move": {"id_number": "身份证号", "event_date": "迁出日期", "region": "迁入地"},
    "cert_cancel": {"id_number": "身份证号", "event_date": "注销日期"},
    "cert_change": {"id_number": "身份证号", "category": "类别", "grade": "等级", "event_date": "变更日期"},
    "cert_new": {"id_number": "身份证号", "category": "类别", "grade": "等级"},
    "cert_renew": {"id_number": "身份证号"},
    "dibao": {"id_number": "身份证号"},
    "tekun": {**WHO, "event_date": "纳入日期"},
    "elderly_care": {"id_number": "身份证号", "event_date": "享受起始年月", "amount": "月金额"},
    "work_injury": {"id_number": "身份证号", "event_date": "享受起始年月", "amount": "月金额"},
}
MOVES_TO = ("110101001001", "120104000000", "120103001000", "120107000000")
AMBIGUOUS_KINDS = ("death", "declared_missing", "tekun")
BENCH_SOURCE = "bench"  # OtherBenefit.source of the registry changes: they are made once


def configure(n: int) -> None:
    if not os.environ.get("DATABASE_URL"):
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / f'compare-{n}.sqlite3'}"
    from people_list import configure as configure_people

    configure_people(n)


def build(n: int, feed_rows: int) -> float:
    import time_machine
    from django.db import connection

    from kangfu.core.models import Region
    from kangfu.matching.models import FeedImport, ImportStatus
    from kangfu.subsidies.models import Payroll
    from kangfu.subsidies.services.payroll import payroll_lock, payroll_run

    started = time.perf_counter()
    import payroll as payroll_bench

    payroll_bench.build(n)
    district = Region.objects.get(code=DISTRICT)
    if not Payroll.objects.filter(district=district, month=PAID, status="locked").exists():
        with time_machine.travel(dt.datetime(2026, 10, 25, tzinfo=dt.UTC)):
            payroll_lock(actor=None, payroll=payroll_run(actor=None, district=district, month=PAID))
    done = set(
        FeedImport.objects.filter(status=ImportStatus.CONFIRMED, period=MONTH).values_list(
            "source__name", flat=True
        )
    )
    if not done >= {f"bench-{kind}" for kind in KINDS}:
        people = prepare_registry(feed_rows)
        import_feeds(people, feed_rows, done)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    # The build (and the payroll benchmark's VACUUM ANALYZE, run every time) leaves pages to write
    # back: written now, not during the first timed turn.
    with connection.cursor() as cursor:
        cursor.execute(
            "CHECKPOINT" if connection.vendor == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)"
        )
    return time.perf_counter() - started


def _chunks(values: list, size: int = 20000):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def prepare_registry(feed_rows: int) -> dict:
    """The registry as a district's looks after the payroll of October (once, in one transaction):
    pairs of recipients sharing a name and birth date; one person in a hundred living in another
    street than the one their grant was granted in; one certificate in a hundred expired in June;
    among the 生活补贴 recipients the 低保 roster leaves out, one in fifty whose 低保 ended in August and
    one in fifty who moved on to 低保边缘 then; 工伤保险生活护理费 and 老年人护理补贴 (150 or 250 a month)
    recorded for a few. Returns who the feeds name."""
    from django.db import transaction

    from kangfu.core.models import Region
    from kangfu.people.models import DisabilityCertificate, IncomePeriod, Person
    from kangfu.subsidies.models import Grant, OtherBenefit

    grants = list(Grant.objects.filter(district_id=DISTRICT).order_by("pk").values_list("person_id", "kind"))
    everyone = [person for person, _kind in grants]
    living = [person for person, kind in grants if kind == "living"]
    pairs = max(1, feed_rows // 100)
    step = max(1, len(everyone) // pairs)

    def at(k: int, offset: int) -> int:
        return everyone[min(k * step + offset % step, len(everyone) - 1)]

    twins = [(at(k, 50), at(k, 51)) for k in range(pairs)]
    expired = everyone[11::100]
    out = {"everyone": everyone, "living": living, "twins": twins, "expired": expired}
    if OtherBenefit.objects.filter(source=BENCH_SOURCE).exists():
        return out
    with transaction.atomic():
        names = dict(
            (pk, (name, born))
            for pk, name, born in Person.objects.filter(pk__in=[a for a, _b in twins]).values_list(
                "pk", "name", "birth_date"
            )
        )
        Person.objects.bulk_update(
            [Person(pk=b, name=names[a][0], birth_date=names[a][1]) for a, b in twins],
            ["name", "birth_date"],
            batch_size=2000,
        )
        communities = list(
            Region.objects.filter(code__startswith=DISTRICT[:6], level=5)
            .order_by("code")
            .values_list("code", flat=True)
        )
        movers = everyone[7::100]
        moved = []
        for chunk in _chunks(movers):
            for pk, street in Person.objects.filter(pk__in=chunk).values_list("pk", "street_id"):
                others = [c for c in communities[pk % 7 :: 7] + communities if c[:9] + "000" != street]
                moved.append(Person(pk=pk, community_id=others[0], street_id=others[0][:9] + "000"))
        Person.objects.bulk_update(moved, ["community", "street"], batch_size=2000)
        for chunk in _chunks(expired):
            DisabilityCertificate.objects.filter(person_id__in=chunk).update(expires_on=dt.date(2026, 6, 30))
        left = living[feed_rows:]
        ended, edge = left[::50], left[25::50]
        for chunk in _chunks(ended + edge):
            IncomePeriod.objects.filter(person_id__in=chunk, status="dibao").update(
                end_date=dt.date(2026, 8, 31)
            )
        IncomePeriod.objects.bulk_create(
            [IncomePeriod(person_id=p, status="dibao_edge", start_date=dt.date(2026, 9, 1)) for p in edge],
            batch_size=2000,
        )
        OtherBenefit.objects.bulk_create(
            [
                OtherBenefit(
                    person_id=at(k, 13),
                    kind="work_injury_care",
                    amount=Decimal("1800.00"),
                    start_date=dt.date(2026, 3, 1),
                    source=BENCH_SOURCE,
                )
                for k in range(pairs)
            ]
            + [
                OtherBenefit(
                    person_id=at(k, 14),
                    kind="elderly_care",
                    amount=Decimal("150.00" if k % 2 else "250.00"),
                    start_date=dt.date(2026, 3, 1),
                    source=BENCH_SOURCE,
                )
                for k in range(pairs)
            ],
            batch_size=2000,
        )
    print(f"  registry: {len(twins)} pairs, {len(moved)} moved, {len(ended)} 低保 ended", file=sys.stderr)
    return out


def import_feeds(people: dict, feed_rows: int, done: set[str]) -> None:
    from kangfu.core.ids import check_character
    from kangfu.matching import services
    from kangfu.matching.models import FeedSource
    from kangfu.people.models import Person

    everyone, living, twins, expired = (
        people["everyone"],
        people["living"],
        people["twins"],
        people["expired"],
    )
    step = max(1, len(everyone) // feed_rows)
    named = set(living[:feed_rows]) | set(everyone[:: max(1, step // 2)]) | set(expired)
    ids = {}
    for chunk in _chunks(sorted(named)):
        ids.update(Person.objects.filter(pk__in=chunk).values_list("pk", "id_number"))
    who = {
        pk: (name, born)
        for chunk in _chunks([a for a, _b in twins])
        for pk, name, born in Person.objects.filter(pk__in=chunk).values_list("pk", "name", "birth_date")
    }
    rng = random.Random(5)
    for index, (kind, mapping) in enumerate(KINDS.items()):
        if f"bench-{kind}" in done:
            continue
        source, _ = FeedSource.objects.get_or_create(
            name=f"bench-{kind}", defaults={"kind": kind, "mapping": mapping}
        )
        lines = [",".join(mapping.values())]
        for i in range(feed_rows):
            values = {
                "id_number": "",
                "name": "",
                "birth_date": "",
                "event_date": "2026-08-15",
                "region": "110101001001",
                "category": "4",
                "grade": str(rng.choice([1, 2, 3])),
                "amount": "",
            }
            if kind == "dibao":
                values["id_number"] = ids[living[i % len(living)]]
            elif kind == "cert_renew" and i % 20 == 0:
                values["id_number"] = ids[expired[(i // 20) % len(expired)]]
            elif kind in AMBIGUOUS_KINDS and i % 100 == 5:
                name, born = who[twins[(i // 100) % len(twins)][0]]
                values["name"], values["birth_date"] = name, f"{born:%Y-%m-%d}"
            elif i % 10 == 0 and kind != "cert_renew":
                if kind == "move":  # out of the city, to another district, one abolished, this one
                    values["region"] = MOVES_TO[(i // 10) % len(MOVES_TO)]
                values["id_number"] = (
                    ids.get(everyone[(i * 7919 + 10 * index + step // 2 * (i // 10 % 2)) % len(everyone)])
                    or ids[living[0]]
                )
            else:
                first17 = f"{990000 + i % 9000:06d}{dt.date(1950, 1, 1) + dt.timedelta(days=i % 20000):%Y%m%d}{i % 1000:03d}"
                values["id_number"] = first17 + check_character(first17)
            if kind == "tekun":
                values["event_date"] = "2026-09-01" if i % 2 else ""
            elif kind == "elderly_care":
                values["event_date"], values["amount"] = "2025-06", ["150", "250", ""][i % 3]
            elif kind == "work_injury":
                values["event_date"], values["amount"] = "2026-05", "1800"
            lines.append(",".join(values[f] for f in mapping))
        raw = ("\n".join(lines) + "\n").encode()
        feed = services.feed_preview(
            actor=None, source=source, raw=raw, file_name=f"{kind}.csv", period=MONTH
        )
        services.feed_confirm(actor=None, feed=feed)
        print(f"  feed {kind}: {feed.valid_lines}", file=sys.stderr)


def cpu_seconds() -> float | None:
    """CPU time used so far by this process and, on PostgreSQL on this machine, by its server process:
    what the work costs whatever else the shared machine is running (None where it cannot be read)."""
    from django.db import connection

    used = time.process_time()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        used += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return used


def checks_at_commit() -> None:
    """The work a commit would do and a rolled-back transaction skips: PostgreSQL's deferred
    constraint checks, run here so that they are timed."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def tidy() -> None:
    """After a rolled-back run, PostgreSQL's items table and indexes hold its rows as dead tuples: vacuum
    them away so that the next run, or the floor, writes into the same table as the first did."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM matching_item")


def fingerprint(run_id: int) -> dict[str, dict]:
    """Per rule, the run's items: their count, their money, and a digest of every column the run sets
    (order-independent), so that two ways of writing the same items can be compared row for row."""
    from django.db import connection

    out: dict[str, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT rule, direction, person_id, grant_id, case_id, feed_row_id, confidence, district_id,
                      street_id, explanation, amount_at_stake, effective_month, due_date, status, note, version
               FROM matching_item WHERE run_id = %s""",
            [run_id],
        )
        while chunk := cursor.fetchmany(20000):
            for row in chunk:
                amount = Decimal(str(row[10])).quantize(Decimal("0.01"))
                key = (*row[:10], str(amount), *(None if v is None else str(v) for v in row[11:]))
                found = out.setdefault(row[0], {"n": 0, "money": Decimal("0.00"), "digest": 0})
                found["n"] += 1
                found["money"] += amount
                found["digest"] = (found["digest"] + hash(key)) % 2**64
    return out


def run_seconds() -> tuple[float, float | None, dict, float]:
    """The comparison as the product runs it (wall and CPU seconds), then (untimed) its items, then
    what storing them costs."""
    from django.db import transaction

    from kangfu.core.models import Region
    from kangfu.matching.comparison import run_execute, run_start

    district = Region.objects.get(code=DISTRICT)
    with transaction.atomic():
        cpu = cpu_seconds()
        started = time.perf_counter()
        run = run_execute(run_start(actor=None, district=district, period=MONTH))
        checks_at_commit()
        elapsed = time.perf_counter() - started
        cpu = _used(cpu)
        found = fingerprint(run.pk)
        store = store_seconds(run.pk)
        transaction.set_rollback(True)
    tidy()
    return elapsed, cpu, found, store


def _used(since: float | None) -> float | None:
    now = cpu_seconds()
    return None if since is None or now is None else now - since


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


def db_floor_seconds() -> tuple[float, float | None, dict, dict]:
    """The same-database floor: one hand-written INSERT … SELECT per rule into the same items table,
    for a scratch run (rolled back). Returns the total (wall and CPU), each rule's seconds and the
    items written."""
    import compare_floor
    from django.db import connection, transaction
    from django.utils import timezone

    from kangfu.core.sql import Dialect
    from kangfu.matching.comparison import DUE_DAYS
    from kangfu.matching.models import ComparisonRun
    from kangfu.matching.rules import Context
    from kangfu.subsidies.rules import add_months

    ctx = Context(district=DISTRICT, period=MONTH)
    statements = compare_floor.statements(ctx, Dialect(connection.vendor))  # standards and policy read here
    policy = ctx.policy()
    with transaction.atomic():
        run = ComparisonRun.objects.create(district_id=DISTRICT, period=MONTH)
        params = {
            "run": run.pk,
            "period": MONTH,
            "district": DISTRICT,
            "prefix": DISTRICT[:6] + "%",
            "due": max(
                MONTH + dt.timedelta(days=DUE_DAYS - 1), timezone.localdate() + dt.timedelta(days=DUE_DAYS)
            ),
            "month_end": add_months(MONTH, 1) - dt.timedelta(days=1),
            "back_pay_from": add_months(MONTH, -policy.back_pay_months),
            "dibao_text": f"{MONTH:%Y年%m月}低保名单中没有此人，生活补贴应自",
        }
        per_rule = {}
        cpu = cpu_seconds()
        with connection.cursor() as cursor:
            started = time.perf_counter()
            for rule, sql in statements:
                began = time.perf_counter()
                cursor.execute(sql, params)
                per_rule[rule] = round(time.perf_counter() - began, 2)
            checks_at_commit()
            elapsed = time.perf_counter() - started
        cpu = _used(cpu)
        found = fingerprint(run.pk)
        transaction.set_rollback(True)
    tidy()
    return elapsed, cpu, per_rule, found


EXPORTS = {
    "grants": (
        "SELECT id, person_id, kind, status, district_id, street_id, start_month FROM subsidies_grant",
        {"id": "BIGINT", "person_id": "BIGINT", "kind": "VARCHAR", "status": "VARCHAR",
         "district_id": "VARCHAR", "street_id": "VARCHAR", "start_month": "DATE"},
    ),
    "periods": (
        "SELECT id, grant_id, from_month, grade, category FROM subsidies_grantperiod",
        {"id": "BIGINT", "grant_id": "BIGINT", "from_month": "DATE", "grade": "INTEGER", "category": "INTEGER"},
    ),
    "lines": (
        """SELECT l.grant_id, l.month_for, l.amount FROM subsidies_payrollline l
           JOIN subsidies_payroll p ON p.id = l.payroll_id WHERE p.status = 'locked' AND l.bank_status <> 'failed'""",
        {"grant_id": "BIGINT", "month_for": "DATE", "amount": "DECIMAL(12,2)"},
    ),
    "rows": (
        """SELECT r.id, r.person_id, r.kind, r.event_date, r.region_id, r.grade, r.category, r.amount, r.confidence
           FROM matching_feedrow r JOIN matching_feedimport f ON f.id = r.feed_id
           WHERE f.status = 'confirmed' AND f.period = %(period)s AND r.person_id IS NOT NULL""",
        {"id": "BIGINT", "person_id": "BIGINT", "kind": "VARCHAR", "event_date": "DATE", "region_id": "VARCHAR",
         "grade": "INTEGER", "category": "INTEGER", "amount": "DECIMAL(12,2)", "confidence": "VARCHAR"},
    ),
    "feeds": (
        """SELECT DISTINCT s.kind FROM matching_feedimport f JOIN matching_feedsource s ON s.id = f.source_id
           WHERE f.status = 'confirmed' AND f.period = %(period)s""",
        {"kind": "VARCHAR"},
    ),
    "certs": (
        "SELECT person_id, grade, expires_on FROM people_disabilitycertificate WHERE status = 'valid'",
        {"person_id": "BIGINT", "grade": "INTEGER", "expires_on": "DATE"},
    ),
    "apps": (
        "SELECT person_id FROM subsidies_application WHERE status NOT IN ('approved', 'rejected')",
        {"person_id": "BIGINT"},
    ),
    "people": (
        "SELECT id, district_id, street_id, vital_status, hukou_region_id FROM people_person",
        {
            "id": "BIGINT",
            "district_id": "VARCHAR",
            "street_id": "VARCHAR",
            "vital_status": "VARCHAR",
            "hukou_region_id": "VARCHAR",
        },
    ),
    "income": (
        "SELECT person_id, status, start_date, end_date FROM people_incomeperiod",
        {"person_id": "BIGINT", "status": "VARCHAR", "start_date": "DATE", "end_date": "DATE"},
    ),
    "benefits": (
        "SELECT person_id, kind, amount, start_date, end_date FROM subsidies_otherbenefit",
        {"person_id": "BIGINT", "kind": "VARCHAR", "amount": "DECIMAL(12,2)", "start_date": "DATE",
         "end_date": "DATE"},
    ),
    "earlier": (
        """SELECT person_id FROM matching_item
           WHERE rule = 'overlap_kept' AND period < %(period)s AND status <> 'dismissed'""",
        {"person_id": "BIGINT"},
    ),
    "regions": (
        "SELECT code, successor_id FROM core_region WHERE code LIKE '%%000000'",
        {"code": "VARCHAR", "successor_id": "VARCHAR"},
    ),
    "cases": (
        "SELECT id, person_id, district_id FROM rehab_case WHERE status IN ('enrolled', 'active', 'suspended')",
        {"id": "BIGINT", "person_id": "BIGINT", "district_id": "VARCHAR"},
    ),
}  # fmt: skip


def export_parquet(folder: Path) -> None:
    """The tables the rules read, as Parquet files DuckDB can scan (export time is not counted)."""
    import duckdb
    from django.db import connection

    for name, (sql, types) in EXPORTS.items():
        path = folder / f"{name}.csv"
        with connection.cursor() as cursor, path.open("w", newline="") as handle:
            cursor.execute(sql, {"period": MONTH})
            writer = csv.writer(handle)
            writer.writerow(types)
            while chunk := cursor.fetchmany(50000):
                writer.writerows(chunk)
        duckdb.sql(
            f"COPY (SELECT * FROM read_csv('{path}', header=true, auto_detect=false, columns={types!r})) "
            f"TO '{folder / name}.parquet' (FORMAT parquet)"
        )


# The items of every rule as rules.py has them today, each with its grant, residence street, feed row,
# effective month and money at stake, materialised in a table: what a column store needs at the least
# to compute what the run stores (no explanations). First rows per person are picked in the order the
# database the run used sorts NULLs ({asc} for ascending, {desc} for descending orders).
DUCKDB_SQL = """
CREATE OR REPLACE TABLE items AS
WITH
g AS (SELECT * FROM '{d}/grants.parquet' WHERE district_id = '{district}' AND status <> 'stopped'),
paid AS (SELECT * FROM '{d}/grants.parquet' WHERE status <> 'stopped'),
r AS (SELECT * FROM '{d}/rows.parquet'),
l AS (SELECT * FROM '{d}/lines.parquet' WHERE month_for < DATE '{period}'),
feeds AS (SELECT * FROM '{d}/feeds.parquet'),
std(kind, grade, amount) AS (VALUES {standards}),
cert AS (SELECT * FROM '{d}/certs.parquet'),
apps AS (SELECT DISTINCT person_id FROM '{d}/apps.parquet'),
people AS (SELECT * FROM '{d}/people.parquet'),
income AS (SELECT * FROM '{d}/income.parquet'),
benefits AS (SELECT * FROM '{d}/benefits.parquet' WHERE end_date IS NULL OR end_date >= DATE '{period}'),
latest AS (
  SELECT grant_id, arg_max(grade, (from_month, id)) AS grade, arg_max(category, (from_month, id)) AS category
  FROM '{d}/periods.parquet' GROUP BY grant_id),
ev AS (
  SELECT CASE WHEN kind IN ('death', 'declared_death', 'cremation') THEN 'death' WHEN kind = 'prison' THEN 'prison'
              WHEN kind = 'declared_missing' THEN 'missing' WHEN kind = 'move' THEN 'moved_out'
              WHEN kind = 'cert_cancel' THEN 'cert_cancelled' WHEN kind = 'tekun' THEN 'tekun'
              ELSE 'work_injury' END AS rule, id, person_id, event_date
  FROM r WHERE kind IN ('death', 'declared_death', 'cremation', 'prison', 'declared_missing', 'move', 'cert_cancel',
                        'tekun', 'work_injury')
    AND NOT (kind = 'move' AND region_id IS NOT NULL AND left(region_id, 2) IN ({provinces}))
  UNION ALL
  SELECT 'work_injury', NULL, person_id, start_date FROM benefits WHERE kind = 'work_injury_care'),
first AS (
  SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY rule, person_id ORDER BY event_date {asc}, id {asc}) AS k
                 FROM ev) WHERE k = 1),
ended AS (
  SELECT person_id, max(end_date) AS ended FROM income WHERE status = 'dibao' GROUP BY person_id
  HAVING bool_and(end_date IS NOT NULL AND end_date <= DATE '{month_end}')),
nature AS (
  SELECT id, person_id, event_date, amount FROM r WHERE kind = 'elderly_care'
  UNION ALL
  SELECT NULL, person_id, start_date, amount FROM benefits WHERE kind IN ('elderly_care', 'same_nature')),
top AS (
  SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY amount DESC NULLS LAST, id NULLS LAST) AS k
                 FROM nature) WHERE k = 1),
pairs AS (
  SELECT g.person_id, g.id AS grant_id, g.start_month, t.id AS row_id, t.event_date, t.amount AS other_amount,
         coalesce(s.amount, 0) AS ours
  FROM top t JOIN g USING (person_id) LEFT JOIN latest p ON p.grant_id = g.id
  LEFT JOIN std s ON s.kind = 'care' AND s.grade = p.grade
  WHERE g.kind = 'care'),
hits AS (
  SELECT f.rule, g.person_id, g.id AS grant_id, f.id AS row_id,
         greatest(date_trunc('month', coalesce(f.event_date, DATE '{period}')) + INTERVAL 1 MONTH, g.start_month)::DATE AS stop
  FROM first f JOIN g USING (person_id)
  UNION ALL
  SELECT 'cert_expired', g.person_id, g.id, NULL,
         greatest(coalesce(date_trunc('month', c.expires_on) + INTERVAL 1 MONTH, DATE '{period}'), g.start_month)::DATE
  FROM g LEFT JOIN cert c USING (person_id)
  WHERE (c.person_id IS NULL OR c.expires_on < DATE '{period}')
    AND g.person_id NOT IN (SELECT person_id FROM r WHERE kind = 'cert_renew')
  UNION ALL
  SELECT 'left_dibao', g.person_id, g.id, NULL,
         greatest(coalesce(date_trunc('month', e.ended) + INTERVAL 1 MONTH, DATE '{period}'), g.start_month)::DATE
  FROM g LEFT JOIN ended e USING (person_id)
  WHERE g.kind = 'living' AND EXISTS (SELECT 1 FROM feeds WHERE kind = 'dibao')
    AND g.person_id NOT IN (SELECT person_id FROM r WHERE kind = 'dibao')
    AND g.person_id NOT IN (SELECT person_id FROM r WHERE kind IN ({other_rosters}))
    AND g.person_id NOT IN (
      SELECT person_id FROM income WHERE status IN ({other_statuses}) AND start_date <= DATE '{month_end}'
        AND (end_date IS NULL OR end_date >= DATE '{period}'))
  UNION ALL
  SELECT 'overlap', person_id, grant_id, row_id,
         (date_trunc('month', greatest(coalesce(event_date, DATE '{period}'), start_month)) + INTERVAL 1 MONTH)::DATE
  FROM pairs WHERE other_amount IS NULL OR other_amount > ours),
within AS (
  SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY event_date DESC {desc}, id DESC) AS k
                 FROM r WHERE kind = 'move' AND region_id IS NOT NULL AND region_id NOT LIKE '{prefix}%'
                   AND left(region_id, 2) IN ({provinces})) WHERE k = 1),
change AS (
  SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY event_date DESC {desc}, id DESC) AS k
                 FROM r WHERE kind = 'cert_change' AND grade IS NOT NULL) WHERE k = 1),
regraded AS (
  SELECT g.person_id, g.id AS grant_id, g.kind, g.start_month, c.id AS row_id, c.event_date, c.grade AS new_grade,
         p.grade AS old_grade, coalesce(c.category, p.category) AS new_category
  FROM change c JOIN g USING (person_id) LEFT JOIN latest p ON p.grant_id = g.id),
priced AS (
  SELECT x.*,
         greatest(CASE WHEN x.new_grade < x.old_grade
                       THEN greatest(date_trunc('month', coalesce(x.event_date, DATE '{period}')), DATE '{back_pay_from}')
                       ELSE date_trunc('month', coalesce(x.event_date, DATE '{period}')) + INTERVAL 1 MONTH END,
                  x.start_month)::DATE AS month,
         coalesce(x.kind = 'care' AND x.new_grade > 2 AND x.new_category NOT IN ({extended}), false) AS stops,
         coalesce(o.amount, 0) AS old_amount,
         CASE WHEN x.kind = 'care' AND x.new_grade > 2 AND x.new_category NOT IN ({extended}) THEN 0
              ELSE coalesce(n.amount, 0) END AS new_amount
  FROM regraded x LEFT JOIN std o ON o.kind = x.kind AND o.grade = x.old_grade
  LEFT JOIN std n ON n.kind = x.kind AND n.grade = x.new_grade),
excluded AS (
  SELECT id AS person_id FROM people
  WHERE vital_status <> 'normal' OR hukou_region_id IS NULL OR hukou_region_id NOT LIKE '{prefix}%'
  UNION ALL SELECT person_id FROM income
  WHERE status = 'tekun' AND start_date <= DATE '{period}' AND (end_date IS NULL OR end_date >= DATE '{period}')
  UNION ALL SELECT person_id FROM r WHERE kind IN ('tekun', 'work_injury')
  UNION ALL SELECT person_id FROM benefits WHERE kind = 'work_injury_care' AND start_date <= DATE '{period}'),
wanting AS (
  SELECT r.person_id, r.id AS row_id, 1 AS rank, coalesce(s.amount, 0) AS amount
  FROM r JOIN people p ON p.id = r.person_id LEFT JOIN std s ON s.kind = 'care' AND s.grade = r.grade
  WHERE r.kind IN ('cert_new', 'cert_change') AND r.grade <= 2
    AND r.person_id NOT IN (SELECT person_id FROM paid WHERE kind = 'care')
    AND r.person_id NOT IN (SELECT person_id FROM apps)
    AND r.person_id NOT IN (SELECT person_id FROM excluded)
  UNION ALL
  SELECT r.person_id, r.id, 2, coalesce(s.amount, 0)
  FROM r JOIN people p ON p.id = r.person_id
  JOIN cert c ON c.person_id = r.person_id AND (c.expires_on IS NULL OR c.expires_on >= DATE '{period}')
  LEFT JOIN std s ON s.kind = 'living' AND s.grade = c.grade
  WHERE r.kind IN ({poor_rosters})
    AND r.person_id NOT IN (SELECT person_id FROM paid WHERE kind = 'living')
    AND r.person_id NOT IN (SELECT person_id FROM apps)
    AND r.person_id NOT IN (SELECT person_id FROM excluded)
    AND r.person_id NOT IN (
      SELECT person_id FROM benefits WHERE kind = 'orphan' AND start_date <= DATE '{period}')),
found AS (
  SELECT h.rule, h.person_id, min(h.grant_id) AS grant_id, min(h.row_id) AS row_id,
         coalesce(sum(l.amount), 0) AS amount, min(h.stop) AS effective_month
  FROM hits h LEFT JOIN l ON l.grant_id = h.grant_id AND l.month_for >= h.stop
  GROUP BY h.rule, h.person_id
  UNION ALL
  SELECT 'grade_changed', person_id, min(grant_id), min(row_id),
         sum(abs(old_amount - new_amount) * greatest(0, datediff('month', month, DATE '{period}'))), min(month)
  FROM priced WHERE old_amount <> new_amount OR stops GROUP BY person_id
  UNION ALL
  SELECT 'moved_within', w.person_id, min(g.id), min(w.id), 0, (DATE '{period}' + INTERVAL 1 MONTH)::DATE
  FROM within w JOIN g USING (person_id)
  LEFT JOIN '{d}/regions.parquet' dn ON dn.code = left(w.region_id, 6) || '000000'
  LEFT JOIN '{d}/regions.parquet' nw ON nw.code = dn.successor_id
  WHERE left(coalesce(nw.code, dn.code, w.region_id), 6) <> left('{district}', 6)
  GROUP BY w.person_id
  UNION ALL
  SELECT 'overlap_kept', person_id, min(grant_id), min(row_id), 0, NULL
  FROM pairs WHERE other_amount <= ours AND person_id NOT IN (SELECT person_id FROM '{d}/earlier.parquet')
  GROUP BY person_id
  UNION ALL
  SELECT 'entitled', person_id, NULL, row_id, amount, NULL
  FROM (SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY rank, row_id DESC) AS k FROM wanting) WHERE k = 1
  UNION ALL
  SELECT 'rehab_ended', r.person_id, NULL, min(r.id), 0, NULL
  FROM r JOIN people p ON p.id = r.person_id AND p.district_id = '{district}'
  JOIN '{d}/cases.parquet' c ON c.person_id = r.person_id
  WHERE r.kind IN ('death', 'declared_death', 'cremation', 'move')
    AND (r.kind <> 'move' OR r.region_id IS NULL OR left(r.region_id, 6) <> left(c.district_id, 6))
  GROUP BY r.person_id)
SELECT f.*, p.street_id FROM found f JOIN people p ON p.id = f.person_id
"""


def duckdb_seconds(folder: Path) -> tuple[float, dict]:
    import duckdb

    from kangfu.core.selectors import provinces_in_service
    from kangfu.matching.rules import Context
    from kangfu.subsidies.models import Kind
    from kangfu.subsidies.rules import add_months

    ctx = Context(district=DISTRICT, period=MONTH)
    policy = ctx.policy()
    others = sorted(
        s.strip() for s in policy.living_income_statuses.split(",") if s.strip() and s.strip() != "dibao"
    )
    accepted = {s.strip() for s in policy.living_income_statuses.split(",") if s.strip()} or {"dibao"}
    sql = DUCKDB_SQL.format(
        d=folder,
        district=DISTRICT,
        prefix=DISTRICT[:6],
        period=MONTH,
        month_end=add_months(MONTH, 1) - dt.timedelta(days=1),
        back_pay_from=add_months(MONTH, -policy.back_pay_months),
        standards=", ".join(
            f"('{kind}', {grade}, {ctx.amount(kind, grade)})"
            for kind in Kind.values
            for grade in (1, 2, 3, 4)
        ),
        other_rosters="'dibao_edge'" if "dibao_edge" in others else "NULL",
        poor_rosters=", ".join(f"'{k}'" for k in ("dibao", "dibao_edge") if k in accepted) or "NULL",
        other_statuses=", ".join(f"'{s}'" for s in others) or "NULL",
        extended=", ".join(str(int(c)) for c in policy.care_extra_categories.split(",") if c.strip()) or "0",
        provinces=", ".join(f"'{p}'" for p in provinces_in_service() if p.isdigit()) or "'--'",
        # matching.rules sorts dateless lines last on both databases (EARLIEST_DATED, LATEST_DATED)
        asc="NULLS LAST",
        desc="NULLS LAST",
    )
    con = duckdb.connect()
    started = time.perf_counter()
    con.sql(sql)
    elapsed = time.perf_counter() - started
    rows = con.sql("SELECT rule, count(*), sum(amount) FROM items GROUP BY rule ORDER BY rule").fetchall()
    return elapsed, {rule: [n, f"{total:.2f}"] for rule, n, total in rows}


def _best(values: list[float | None]) -> float | None:
    return None if None in values else round(min(values), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--feed-rows", type=int, default=100000)
    parser.add_argument(
        "--repeat", type=int, default=2, help="turns of run and floor; the best of each counts"
    )
    args = parser.parse_args()
    configure(args.n)
    build_seconds = build(args.n, args.feed_rows)
    from django.db import connection

    runs, floors, stores, run_cpus, floor_cpus = [], [], [], [], []
    for turn in range(args.repeat):
        # Alternate which goes first, so that neither always meets the colder cache.
        for step in ("run", "floor") if turn % 2 == 0 else ("floor", "run"):
            if step == "run":
                seconds, cpu, found, store = run_seconds()
                runs.append(seconds)
                run_cpus.append(cpu)
                stores.append(store)
            else:
                floor, cpu, floor_rules, floor_found = db_floor_seconds()
                floors.append(floor)
                floor_cpus.append(cpu)
            print(f"  {step}: {(seconds if step == 'run' else floor):.2f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder:
        export_parquet(Path(folder))
        duck, duck_found = duckdb_seconds(Path(folder))
    compare, floor = min(runs), min(floors)
    items = {rule: [f["n"], f"{f['money']:.2f}"] for rule, f in sorted(found.items())}
    rules_differing = sorted(
        rule for rule in found.keys() | floor_found.keys() if found.get(rule) != floor_found.get(rule)
    )
    counts_agree = {r: n for r, (n, _m) in items.items()} == {r: n for r, (n, _m) in duck_found.items()}
    print(
        json.dumps(
            {
                "n": args.n,
                "feed_rows": args.feed_rows,
                "db": connection.vendor,
                "build_seconds": round(build_seconds, 1),
                "compare_s": round(compare, 2),
                "floor_s": round(floor, 2),
                "ratio_to_db_floor": round(compare / floor, 2),
                "duckdb_s": round(duck, 3),
                "ratio_to_duckdb": round(compare / duck, 1),
                "store_items_seconds": round(min(stores), 2),
                # CPU seconds (this process and its PostgreSQL server process), best of the turns:
                # the same work whatever else the machine runs.
                "compare_cpu_s": _best(run_cpus),
                "floor_cpu_s": _best(floor_cpus),
                "ratio_cpu": round(_best(run_cpus) / _best(floor_cpus), 2)
                if None not in run_cpus + floor_cpus
                else None,
                "compare_runs_s": [round(s, 2) for s in runs],
                "floor_runs_s": [round(s, 2) for s in floors],
                "floor_rule_s": floor_rules,
                "items": sum(f["n"] for f in found.values()),
                "items_by_rule": items,  # [count, money at stake]
                "floor_rows_identical": not rules_differing,
                "floor_rules_differing": rules_differing,
                "duckdb_items_by_rule": duck_found,
                "duckdb_counts_agree": counts_agree,
                "duckdb_money_agrees": items == duck_found,
                "goal_seconds": GOAL_SECONDS,
                "goal_ratio": GOAL_RATIO,
                "meets_goal": compare < GOAL_SECONDS and compare / floor <= GOAL_RATIO,
            },
            ensure_ascii=False,
        )
    )
    if rules_differing or not counts_agree:
        sys.exit("the floor or DuckDB found other items than the run (see the JSON above)")


if __name__ == "__main__":
    main()
