"""Benchmark: province scale — the payroll, the comparison and the people list at growing N, on PostgreSQL.

    .venv/bin/python bench/scale.py --sizes 300000,1000000,3000000
    .venv/bin/python bench/scale.py --sizes 30000,100000 --server postgres://postgres@127.0.0.1:5432

For each size N it runs, each in a process of its own, `payroll.py --n N` (a committed payroll of one
district of N grants, against its floor), then `compare.py --n N` on the same database (the data
comparison over those grants, feeds of N / 10 rows), and `people_list.py --n N` on a second database
(the people list and ID search over N people). The databases are made here (`kangfu_scale_<n>` and
`kangfu_scale_people_<n>`) and dropped afterwards unless `--keep`. Each bench prints its own figures;
this one prints, for each step from one size to the next, how much each figure grew against how
much N grew. Goals (issue #17): cost grows no faster than linearly (the 3M figure within 3.3× the
1M one); a committed payroll of 3M grants under 30 s. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GOAL_GROWTH = 1.1  # the allowed growth beyond linear: 3M within 3.3× of 1M
GOAL_PAYROLL_3M_SECONDS = 30.0
# The figures compared across sizes: (bench, key in its JSON).
FIGURES = {
    "payroll_seconds": ("payroll", "payroll_seconds"),
    "payroll_cpu_seconds": ("payroll", "payroll_cpu_seconds"),
    "compare_seconds": ("compare", "compare_s"),
    "compare_cpu_seconds": ("compare", "compare_cpu_s"),
    "people_list_city_ms": ("people", "list_city_median_ms"),
    "people_id_search_ms": ("people", "id_search_city_median_ms"),
}


def _admin(server: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(statement)


def _bench(script: str, database_url: str, *args: str) -> dict:
    """Run one bench in its own process; its last line is its figures."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own bench scripts, by this interpreter
        [PYTHON, "-u", str(ROOT / "bench" / script), *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-4000:])
        raise SystemExit(f"{script} {' '.join(args)} failed")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["wall_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps({"bench": script, **figures}, ensure_ascii=False), flush=True)
    return figures


def run_size(n: int, server: str, keep: bool) -> dict[str, dict]:
    grants, people = f"kangfu_scale_{n}", f"kangfu_scale_people_{n}"
    for name in (grants, people):
        _admin(server, f"DROP DATABASE IF EXISTS {name}")
        _admin(server, f"CREATE DATABASE {name}")
    try:
        found = {
            "payroll": _bench("payroll.py", f"{server}/{grants}", "--n", str(n), "--repeat", "2"),
            "compare": _bench(
                "compare.py", f"{server}/{grants}", "--n", str(n), "--feed-rows", str(max(n // 10, 1000))
            ),
            "people": _bench("people_list.py", f"{server}/{people}", "--n", str(n), "--repeat", "10"),
        }
    finally:
        if not keep:
            for name in (grants, people):
                _admin(server, f"DROP DATABASE IF EXISTS {name}")
    return found


def growth(sizes: list[int], results: dict[int, dict[str, dict]]) -> list[dict]:
    """Each figure's growth from one size to the next, against N's growth (1.0: exactly linear)."""
    steps = []
    for small, large in itertools.pairwise(sizes):
        step: dict = {"from": small, "to": large, "n_grew": round(large / small, 2)}
        for name, (bench, key) in FIGURES.items():
            before, after = results[small][bench].get(key), results[large][bench].get(key)
            if before and after:
                step[name] = round(after / before, 2)
                step[f"{name}_beyond_linear"] = round((after / before) / (large / small), 2)
        steps.append(step)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="300000,1000000,3000000", help="N, comma-separated, growing")
    parser.add_argument(
        "--server",
        default=os.environ.get("KANGFU_BENCH_PG", "postgres://postgres@127.0.0.1:5432"),
        help="a PostgreSQL server whose role may create databases (no database name)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases built")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results = {n: run_size(n, args.server.rstrip("/"), args.keep) for n in sizes}
    steps = growth(sizes, results)
    linear = all(
        value <= GOAL_GROWTH
        for step in steps
        for key, value in step.items()
        if key.endswith("_beyond_linear")
    )
    summary: dict = {
        "db": "postgresql",
        "sizes": sizes,
        "figures": {n: {name: results[n][b].get(k) for name, (b, k) in FIGURES.items()} for n in sizes},
        "growth": steps,
        "goal_growth_beyond_linear": GOAL_GROWTH,
        "grows_linearly": linear,
    }
    if 3_000_000 in results:
        payroll = results[3_000_000]["payroll"]["payroll_seconds"]
        summary["payroll_3m_seconds"] = payroll
        summary["goal_payroll_3m_seconds"] = GOAL_PAYROLL_3M_SECONDS
        summary["meets_goal"] = linear and payroll < GOAL_PAYROLL_3M_SECONDS
    else:
        summary["meets_goal"] = None  # the goal is stated at 3M grants
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
