"""Run by `test_replica.py` in its own process, with DATABASE_URL and DATABASE_REPLICA_URL pointing at a
primary and its streaming replica the test started. It does what the test describes, against the real
clusters, and prints what it saw as one JSON object on its last line: which connection answered each
read, and what /readyz and /metrics said. Log lines (JSON) go to stderr for the test to read.

Not a test module itself: the test's own database is not involved, and the settings are production's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    import django

    django.setup()

    from django.db import connections, transaction
    from django.utils import timezone

    from kangfu.core.dbrouting import forget_replica_state, replica_reads, replica_state
    from kangfu.core.exports import xlsx_workbook
    from kangfu.core.models import WorkerHeartbeat
    from kangfu.core.observability import readiness, render_metrics, reset_request_id, set_request_id

    primary, replica = connections["default"], connections["replica"]
    seen: dict = {}

    def scalar(connection, sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def wait_for(condition, what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}")
            time.sleep(0.05)

    def replayed() -> None:
        """Waits until the replica has replayed everything the primary has written so far."""
        lsn = scalar(primary, "SELECT pg_current_wal_lsn()::text")
        wait_for(lambda: scalar(replica, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]), "replay")

    def served(read) -> dict:
        """Runs `read` and says how many queries each database answered. (Not CaptureQueriesContext:
        it connects first, which a stopped replica refuses.)"""
        counts = {"primary": 0, "replica": 0}

        def counter(name):
            def wrapper(execute, sql, params, many, context):
                counts[name] += 1
                return execute(sql, params, many, context)

            return wrapper

        with primary.execute_wrapper(counter("primary")), replica.execute_wrapper(counter("replica")):
            counts["result"] = read()
        return counts

    def beat(worker_id: str) -> WorkerHeartbeat:
        now = timezone.now()
        return WorkerHeartbeat.objects.create(worker_id=worker_id, seen_at=now, started_at=now, pid=1)

    def export() -> int:
        rows = WorkerHeartbeat.objects.order_by("worker_id").values_list("worker_id", "pid")
        return len(xlsx_workbook([("进程", ["编号", "进程号"], rows)]))

    # The schema reaches the replica through the primary's WAL, like every write.
    with primary.schema_editor() as editor:
        editor.create_model(WorkerHeartbeat)
    beat("seeded")
    replayed()
    forget_replica_state()
    replica_state()  # the first look, so the reads below count only themselves

    seen["export"] = served(export)
    seen["outside_scope"] = served(lambda: WorkerHeartbeat.objects.count())

    def write_then_read() -> bool:
        with replica_reads():
            beat("written-in-scope")
            return WorkerHeartbeat.objects.filter(worker_id="written-in-scope").exists()

    seen["write_then_read"] = served(write_then_read)

    def in_transaction() -> int:
        with transaction.atomic(), replica_reads():
            return WorkerHeartbeat.objects.count()

    seen["in_transaction"] = served(in_transaction)

    # A request that saved something reads its own write in a later scope of the same request.
    token = set_request_id("probe-request-0001")
    try:
        beat("written-by-request")

        def same_request() -> bool:
            with replica_reads():
                return WorkerHeartbeat.objects.filter(worker_id="written-by-request").exists()

        seen["same_request"] = served(same_request)
    finally:
        reset_request_id(token)
    replayed()
    seen["readyz_ok"] = readiness().get("replica")

    # Lag: replay paused while the primary goes on writing.
    scalar(replica, "SELECT pg_wal_replay_pause()::text")
    beat("while-paused")
    lsn = scalar(primary, "SELECT pg_current_wal_lsn()::text")
    wait_for(lambda: scalar(replica, "SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", [lsn]), "receive")
    time.sleep(float(os.environ["KANGFU_REPLICA_MAX_LAG"]) + 0.5)
    print("== lagging", file=sys.stderr, flush=True)
    replica_state(fresh=True)
    seen["lagging"] = served(lambda: _scoped_count(replica_reads, WorkerHeartbeat))
    seen["readyz_lagging"] = readiness().get("replica")
    scalar(replica, "SELECT pg_wal_replay_resume()::text")
    replayed()
    print("== resumed", file=sys.stderr, flush=True)
    replica_state(fresh=True)
    seen["resumed"] = served(lambda: _scoped_count(replica_reads, WorkerHeartbeat))

    # Down: the replica's server stopped.
    replica.close()
    subprocess.run(os.environ["PROBE_STOP_REPLICA"], shell=True, check=True, capture_output=True)  # noqa: S602
    print("== down", file=sys.stderr, flush=True)
    started = time.monotonic()
    replica_state(fresh=True)
    seen["down"] = served(lambda: _scoped_count(replica_reads, WorkerHeartbeat))
    seen["down_seconds"] = time.monotonic() - started
    seen["down_again"] = served(lambda: _scoped_count(replica_reads, WorkerHeartbeat))
    seen["readyz_down"] = readiness().get("replica")
    seen["metrics"] = [
        line
        for line in render_metrics().decode().splitlines()
        if line.startswith(("kangfu_replica_up", "kangfu_replica_fallbacks_total"))
    ]
    print(json.dumps(seen, ensure_ascii=False))


def _scoped_count(replica_reads, model) -> int:
    with replica_reads():
        return model.objects.count()


if __name__ == "__main__":
    main()
