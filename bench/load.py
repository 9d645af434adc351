"""Load on the shipped server: street, district and city users working their pages at once.

    .venv/bin/python bench/load.py                          # the demo city in a SQLite file under var/bench/load/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kangfu_bench_load .venv/bin/python bench/load.py
    .venv/bin/python bench/load.py --people 1000000         # the demo city among a million synthetic people

Builds the demo city once (`kangfu migrate` and `kangfu demo`, reused on later runs; `--rebuild` starts
again), then for each server (`kangfu serve`, the production server, and Django's development server
beside it for comparison) runs two scenarios from a client on the same machine: the ceiling (`--users`
virtual users, no think time) and a working day (`--day-users` users, each pausing about `--think`
seconds between pages, drawn from ± `--think-spread` of it, and starting at a random moment of the
first pause: with one fixed pause and one start, all 500 asked at once every five seconds). Every virtual user signs in with its own session and walks its role's pages: a street
officer the people list, a person's record, the 两项补贴 worklist and grants and the comparison; a district
officer the 两项补贴 worklist, grants, indicators, the comparison and the reports; the city the people list,
the indicators and the reports. Before the clock, each role's pages are opened once, the statistics
pages again until their figures are there (a scope's figures are counted at the day's first visit, once:
`warm_seconds`); a statistics page that answered "being counted" during a scenario is counted in
`counting_pages`. With `--people N` the demo city is built among N synthetic people (the benchmark city
at 1,000,000), in a database of its own. The last line is one JSON object with requests per second, latency
percentiles and errors per server and scenario, and the goals (issue: production): a ceiling of at least
150 requests/s, and 500 users thinking 5 s at a p95 under 500 ms with no errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KANGFU = Path(sys.executable).parent / "kangfu"
PASSWORD = "Kf-Demo-2026"  # noqa: S105 - core.demo.DEMO_PASSWORD, printed by `make demo`
GOAL_RPS = 150
GOAL_P95_MS = 500

ROLES = {
    "dayingmen": ["/people/", "PERSON", "/subsidies/", "/subsidies/grants/", "/matching/"],
    "hexi.admin": ["/subsidies/", "/subsidies/grants/", "/reports/subsidies/", "/matching/", "/reports/"],
    "shi.admin": ["/people/", "/reports/subsidies/", "/reports/"],
}


def vendor(env: dict[str, str]) -> str:
    return "postgresql" if env["DATABASE_URL"].startswith("postgres") else "sqlite"


def environment(people: int = 0) -> dict[str, str]:
    folder = ROOT / "var" / "bench" / "load"
    if people:
        folder /= f"people-{people}"  # a city of its own: its database, its cache
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["KANGFU_ENV_FILE"] = str(folder / "kangfu.env")
    env.setdefault("DATABASE_URL", f"sqlite:///{folder / 'load.sqlite3'}")
    # One keys file for the folder; the figures' cache and the build's marker are each database's own.
    env["KANGFU_CACHE_DIR"] = str(folder / f"cache-{vendor(env)}")  # not the demo's: another database's
    env["KANGFU_LOG_LEVEL"] = "WARNING"
    return env


# The steady state of a live database after a bulk load: statistics gathered and, on PostgreSQL, the
# visibility map set by (auto)vacuum, without which no index-only scan counts a list (as people_list.py).
SETTLE = (
    "from django.db import connection\n"
    "with connection.cursor() as c:\n"
    "    c.execute('VACUUM ANALYZE' if connection.vendor == 'postgresql' else 'ANALYZE')\n"
)


def build(env: dict[str, str], *, rebuild: bool, people: int = 0) -> float:
    started = time.perf_counter()
    marker = Path(env["KANGFU_ENV_FILE"]).parent / f"{vendor(env)}.built"
    if rebuild:
        marker.unlink(missing_ok=True)
        if env["DATABASE_URL"].startswith("sqlite:///"):
            Path(env["DATABASE_URL"].removeprefix("sqlite:///")).unlink(missing_ok=True)
        else:
            subprocess.run([str(KANGFU), "flush", "--noinput"], env=env, check=True)  # noqa: S603
    if marker.exists() and marker.read_text() == env["DATABASE_URL"]:
        return 0.0
    subprocess.run([str(KANGFU), "init-env", env["KANGFU_ENV_FILE"]], env=env, check=True)  # noqa: S603
    steps = [["migrate", "--noinput"], ["demo"]]
    if people:
        # The demo city's accounts and cases, in a city of `people` synthetic people besides.
        steps += [["synth", "--people", str(people), "--batch", "10000"], ["shell", "-c", SETTLE]]
    for step in steps:
        subprocess.run([str(KANGFU), *step], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    marker.write_text(env["DATABASE_URL"])
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(server: str, env: dict[str, str], port: int, workers: int | None) -> subprocess.Popen:
    if server == "gunicorn":
        argv = [str(KANGFU), "serve", f"127.0.0.1:{port}"]
        if workers:
            argv += ["--workers", str(workers)]
    else:
        argv = [str(KANGFU), "runserver", f"127.0.0.1:{port}", "--noreload"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"{server} did not answer /healthz on port {port}")


# Signing in hashes a password on purpose slowly: hundreds at once would time out and measure only
# that. Users sign in a few at a time before the clock starts.
SIGNING_IN = threading.Semaphore(4)


class User(threading.Thread):
    """One virtual user: a connection of its own, a session of its own, its role's pages in turn."""

    def __init__(
        self,
        port: int,
        username: str,
        think: float,
        clock: dict,
        ready: threading.Barrier,
        index: int,
        spread: float = 0.0,
    ):
        super().__init__(daemon=True)
        self.port, self.username, self.think, self.clock, self.ready = port, username, think, clock, ready
        self.spread = spread
        self.random = random.Random(index)  # the same pauses for the same user in every run
        self.pages = ROLES[username]
        self.index = index
        self.cookies: dict[str, str] = {}
        self.latencies: list[float] = []
        self.errors = 0
        self.counting = 0  # statistics pages that said their figures were being counted
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def _send(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text

    def login(self) -> None:
        self._send("GET", "/login/")
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": self.cookies.get("csrftoken", ""),
                "username": self.username,
                "password": PASSWORD,
            }
        )
        status, _ = self._send("POST", "/login/", form)
        if status != 302:
            raise SystemExit(f"{self.username} could not sign in (HTTP {status})")

    def run(self) -> None:
        try:
            with SIGNING_IN:
                self.login()
        except (SystemExit, OSError, http.client.HTTPException):
            self.errors += 1
            return
        finally:
            self.ready.wait()  # the clock starts once everyone has signed in
        person = None
        step = self.index
        if self.think and self.spread:
            # People do not all open a page in the same second: each starts somewhere in one pause.
            time.sleep(self.random.uniform(0, self.think))
        while time.monotonic() < self.clock["until"]:
            page = self.pages[step % len(self.pages)]
            step += 1
            if page == "PERSON":
                if person is None:
                    continue
                page = person
            started = time.perf_counter()
            try:
                status, text = self._send("GET", page)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                continue
            self.latencies.append(time.perf_counter() - started)
            if status != 200:
                self.errors += 1
            elif COUNTING in text:
                self.counting += 1
            elif page == "/people/" and person is None:
                found = re.findall(r'href="(/people/\d+/)"', text)
                person = found[self.index % len(found)] if found else None
            if self.think:
                low, high = self.think * (1 - self.spread), self.think * (1 + self.spread)
                time.sleep(self.random.uniform(low, high) if self.spread else self.think)


COUNTING = 'id="counting"'  # reports/counting.html: the day's first count of a scope under way


def warm(port: int, patience: float = 600.0) -> float:
    """Each role's pages once, and its statistics pages again until their figures are there: a scope's
    figures are counted at the first visit of the day (reports.counted), once, not in the steady load
    the scenarios measure. The seconds it took."""
    started = time.monotonic()
    for username in ROLES:
        user = User(port, username, 0, {"until": 0.0}, threading.Barrier(1), 0)
        user.login()
        for page in user.pages:
            while page != "PERSON" and COUNTING in user._send("GET", page)[1]:
                if time.monotonic() - started > patience:
                    raise SystemExit(f"{page} was still being counted after {patience:.0f} s")
                time.sleep(1)
    return time.monotonic() - started


def scenario(port: int, users: int, seconds: float, think: float, spread: float = 0.0) -> dict:
    names = list(ROLES)
    clock = {"until": 0.0}
    ready = threading.Barrier(users + 1)
    crowd = [User(port, names[i % len(names)], think, clock, ready, i, spread) for i in range(users)]
    for user in crowd:
        user.start()
    clock["until"] = time.monotonic() + 10**6  # nobody stops before the window is set
    ready.wait()
    started, cpu = time.monotonic(), time.process_time()
    clock["until"] = started + seconds
    for user in crowd:
        user.join()
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    latencies = sorted(x for user in crowd for x in user.latencies)
    if len(latencies) < 2:
        return {"users": users, "requests": len(latencies), "errors": sum(u.errors for u in crowd)}
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "users": users,
        "think_seconds": think,
        "think_spread": spread,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(cuts[49] * 1000),
        "p95_ms": round(cuts[94] * 1000),
        "p99_ms": round(cuts[98] * 1000),
        "errors": sum(u.errors for u in crowd),
        "counting_pages": sum(u.counting for u in crowd),
        # The client's own CPU per request: it shares the cores with the server.
        "client_cpu_ms_per_request": round(cpu / len(latencies) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="gunicorn,dev", help="gunicorn, dev or both (comma-separated)")
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn workers (default: from the cores)"
    )
    parser.add_argument("--users", type=int, default=50, help="users of the ceiling scenario (no think time)")
    parser.add_argument("--seconds", type=float, default=30, help="length of each scenario")
    parser.add_argument("--day-users", type=int, default=500, help="users of the working-day scenario")
    parser.add_argument("--think", type=float, default=5.0, help="pause between pages in the working day")
    parser.add_argument(
        "--think-spread",
        type=float,
        default=0.5,
        help="each pause drawn from think × (1 ± spread), and each user's first page somewhere in one pause; "
        "0 = every user in step, all 500 at once every think seconds (as measured before 2026-12-04 evening)",
    )
    parser.add_argument("--rebuild", action="store_true", help="load the demo city again")
    parser.add_argument(
        "--people",
        type=int,
        default=0,
        help="synthetic people added to the demo city (1000000: the benchmark city), in a database of "
        "its own under var/bench/load/people-N/ (on PostgreSQL give another DATABASE_URL)",
    )
    args = parser.parse_args()

    env = environment(args.people)
    build_seconds = build(env, rebuild=args.rebuild, people=args.people)
    results: dict[str, dict] = {}
    for server in args.servers.split(","):
        port = free_port()
        process = start(server, env, port, args.workers)
        try:
            warm_seconds = warm(port)
            scenario(port, 3, 3, 0)  # warm every worker's caches and connections
            results[server] = {
                "warm_seconds": round(warm_seconds, 1),
                "ceiling": scenario(port, args.users, args.seconds, 0),
                "day": scenario(port, args.day_users, args.seconds * 2, args.think, args.think_spread),
            }
        finally:
            process.terminate()
            process.wait(timeout=30)
        print(json.dumps({server: results[server]}, ensure_ascii=False), flush=True)
    gunicorn = results.get("gunicorn", {})
    print(
        json.dumps(
            {
                "db": vendor(env),
                "synthetic_people": args.people,
                "cores": os.cpu_count(),
                "build_seconds": round(build_seconds, 1),
                **results,
                "goal_rps": GOAL_RPS,
                "goal_p95_ms": GOAL_P95_MS,
                "meets_goal": bool(gunicorn)
                and gunicorn["ceiling"].get("requests_per_second", 0) >= GOAL_RPS
                and gunicorn["day"].get("p95_ms", 10**9) < GOAL_P95_MS
                and gunicorn["day"].get("errors", 1) == 0,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
