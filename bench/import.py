"""Benchmark: a city's go-live import from CSV, against the database's own bulk path.

    .venv/bin/python bench/import.py --n 1000000
    createdb -h 127.0.0.1 -U postgres kangfu_bench_import
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kangfu_bench_import .venv/bin/python bench/import.py --n 1000000

Writes two files as a legacy system exports them: N people with a certificate and an income-status
period each, and 0.3 N recipients with 12 months paid. Then, on an empty registry, times the import
of each through the same flow as the page and `kangfu import` (line-by-line check, then the confirmed
import in one transaction), the re-import of the unchanged files (recognised by their digest), their
line-by-line recheck (which finds every line unchanged), and, in the same run, the floor:
the rows the import wrote, loaded again into empty copies of their tables (indexes included) by the
database's bulk path — one transaction of executemany on SQLite, COPY on PostgreSQL. The last line
printed is one JSON object. Goal (上线迁移): under 10 minutes, within 3× of the floor; the re-import
under 1 minute.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

GOAL_SECONDS = 600.0
GOAL_RATIO = 3.0
GOAL_REIMPORT_SECONDS = 60.0
LIVE = dt.date(2026, 12, 1)
TABLES = [
    "people_person",
    "people_disabilitycertificate",
    "people_incomeperiod",
    "subsidies_grant",
    "subsidies_grantperiod",
    "subsidies_grantchange",
    "subsidies_payroll",
    "subsidies_payrollline",
    "core_auditentry",
]


def configure(n: int) -> None:
    from people_list import configure as configure_people

    if not os.environ.get("DATABASE_URL"):
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
        path = ROOT / "var" / "bench" / f"import-{n}.sqlite3"
        path.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    configure_people(n)


def write_files(n: int, folder: Path) -> tuple[Path, Path]:
    """The legacy export: people (with certificate and income period) and recipients."""
    from kangfu.core.ids import check_character
    from kangfu.core.models import Region

    communities = list(Region.objects.filter(code__startswith="1201", level=5).values_list("code", flat=True))
    people, recipients = folder / "people.csv", folder / "recipients.csv"
    first_paid = dt.date(LIVE.year - 1, LIVE.month, 1)
    with (
        people.open("w", encoding="utf-8-sig", newline="") as p,
        recipients.open("w", encoding="utf-8-sig", newline="") as r,
    ):
        pw, rw = csv.writer(p), csv.writer(r)
        pw.writerow(
            [
                "公民身份号码",
                "姓名",
                "社区代码",
                "联系电话",
                "残疾证号",
                "发证日期",
                "有效期至",
                "低保类型",
                "纳入日期",
            ]
        )
        rw.writerow(["身份证号", "补贴类型", "享受起始年月", "发放至", "月金额", "开户银行", "银行账号"])
        for i in range(n):
            born = dt.date(1940 + i % 60, 1 + i % 12, 1 + i % 28)
            # The county digits vary too, so a million numbers stay distinct.
            first17 = (
                f"12{(i // 500_000) % 10}1{(i // 50_000) % 10}{(i // 5_000) % 10}{born:%Y%m%d}{i % 1000:03d}"
            )
            number = first17 + check_character(first17)
            grade = 1 + i % 4
            pw.writerow(
                [
                    number,
                    f"人员{i}",
                    communities[i % len(communities)],
                    f"139{i:08d}",
                    f"{number}4{grade}",
                    "2018-05-01",
                    "2038-05-01",
                    "低保",
                    "2015-03-01",
                ]
            )
            if i % 10 < 3:
                amount = "300" if grade <= 2 else "160"
                rw.writerow(
                    [number, "生活补贴", f"{first_paid:%Y-%m}", "2026-11", amount, "银行", f"6228{i:012d}"]
                )
    return people, recipients


def db_cpu() -> float | None:
    """CPU seconds of this process's PostgreSQL backend so far (when the server runs on this machine
    and /proc shows it), so that the database's share of a phase is known whatever the machine's load."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_figures(cpu0: float, db0: float | None) -> dict:
    db1 = db_cpu()
    return {
        "cpu_seconds": round(time.process_time() - cpu0, 1),
        "db_cpu_seconds": round(db1 - db0, 1) if db0 is not None and db1 is not None else None,
    }


def import_file(kind: str, path: Path, *, recheck: bool = False) -> dict:
    from kangfu.golive import services

    cpu0, db0 = time.process_time(), db_cpu()
    started = time.perf_counter()
    job = services.job_create(
        actor=None, kind=kind, file_name=path.name, path=path, options={"live_from": f"{LIVE:%Y-%m}"}
    )
    if job.status == "done" and recheck:
        job = services.job_recheck(actor=None, job=job)
    if job.status == "done":  # the same file as before, recognised by its digest
        return {
            "seconds": round(time.perf_counter() - started, 1),
            "counts": job.counts,
            "errors": job.error_count,
        }
    job = services.job_check(job)
    checked = time.perf_counter()
    check_cpu = cpu_figures(cpu0, db0)
    cpu1, db1 = time.process_time(), db_cpu()
    job = services.job_confirm(actor=None, job=job)
    job = services.job_apply(job)
    done = time.perf_counter()
    assert job.status == "done", job.message
    return {
        "check_seconds": round(checked - started, 1),
        "apply_seconds": round(done - checked, 1),
        "seconds": round(done - started, 1),
        # Process and database-backend CPU seconds of each step: the machine's load hardly moves them.
        "check_cpu": check_cpu,
        "apply_cpu": cpu_figures(cpu1, db1),
        "load_average": round(os.getloadavg()[0], 2),
        "counts": job.counts,
        "errors": job.error_count,
    }


def floor_seconds() -> tuple[float, int]:
    """Every row the import wrote, loaded again into empty copies of its tables in one transaction."""
    from django.db import connection

    rows_by_table = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT * FROM {table}")
            rows_by_table[table] = cursor.fetchall()
            columns = [c[0] for c in cursor.description]
            rows_by_table[table] = (columns, rows_by_table[table])
            cursor.execute(f"DROP TABLE IF EXISTS floor_{table}")
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)"
                )
                # LIKE copies no foreign keys; SQLite's copy (its CREATE statement) has them. Both
                # floors check them as the real tables do, deferred to the commit.
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE conrelid = %s::regclass AND contype = 'f'",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f'ALTER TABLE floor_{table} ADD CONSTRAINT "floor_{name}" {definition}')
            else:
                cursor.execute(
                    "SELECT sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL", [table]
                )
                for (sql,) in cursor.fetchall():
                    sql = sql.replace(f'"{table}"', f'"floor_{table}"')
                    if sql.startswith("CREATE UNIQUE INDEX") or sql.startswith("CREATE INDEX"):
                        name = sql.split('"')[1]
                        sql = sql.replace(f'"{name}"', f'"floor_{name}"', 1)
                    cursor.execute(sql)
    total = sum(len(rows) for _c, rows in rows_by_table.values())
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN") if connection.vendor == "sqlite" else None
        for table, (columns, rows) in rows_by_table.items():
            names = ", ".join(f'"{c}"' for c in columns)
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY floor_{table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["?"] * len(columns))
                cursor.cursor.executemany(f"INSERT INTO floor_{table} ({names}) VALUES ({marks})", rows)
        if connection.vendor == "sqlite":
            cursor.execute("COMMIT")
        else:
            connection.commit()
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS floor_{table}")
    return elapsed, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="people in the legacy export")
    parser.add_argument(
        "--recheck", action="store_true", help="also time the line-by-line recheck of the same files"
    )
    args = parser.parse_args()
    configure(args.n)

    import tempfile

    from django.core.management import call_command
    from django.db import connection

    from kangfu.core.models import Region
    from kangfu.subsidies.seed import seed_tianjin

    call_command("migrate", verbosity=0)
    if connection.vendor == "postgresql":
        call_command("flush", "--noinput", verbosity=0)
    if not Region.objects.filter(code__startswith="1201", level=5).exists():
        call_command("regions", "import", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    seed_tianjin()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        people, recipients = write_files(args.n, Path(folder))
        files_seconds = time.perf_counter() - started
        first = {"people": import_file("people", people), "recipients": import_file("recipients", recipients)}
        print(json.dumps(first, ensure_ascii=False), flush=True)
        again = {"people": import_file("people", people), "recipients": import_file("recipients", recipients)}
        print(json.dumps(again, ensure_ascii=False), flush=True)
        recheck = {"people": {"seconds": 0.0}, "recipients": {"seconds": 0.0}}
        if args.recheck:
            recheck = {
                "people": import_file("people", people, recheck=True),
                "recipients": import_file("recipients", recipients, recheck=True),
            }
            print(json.dumps(recheck, ensure_ascii=False), flush=True)
    floor, rows = floor_seconds()
    total = first["people"]["seconds"] + first["recipients"]["seconds"]
    reimport = again["people"]["seconds"] + again["recipients"]["seconds"]
    rechecked = recheck["people"]["seconds"] + recheck["recipients"]["seconds"]
    print(
        json.dumps(
            {
                "n": args.n,
                "db": connection.vendor,
                "files_seconds": round(files_seconds, 1),
                "import_seconds": round(total, 1),
                "reimport_seconds": round(reimport, 1),
                "recheck_seconds": round(rechecked, 1) if args.recheck else None,
                "floor_seconds": round(floor, 1),
                "floor_rows": rows,
                "ratio_to_floor": round(total / floor, 2),
                "goal_seconds": GOAL_SECONDS,
                "goal_ratio": GOAL_RATIO,
                "goal_reimport_seconds": GOAL_REIMPORT_SECONDS,
                "meets_goal": total < GOAL_SECONDS
                and total / floor <= GOAL_RATIO
                and reimport < GOAL_REIMPORT_SECONDS,
            }
        )
    )


if __name__ == "__main__":
    main()
