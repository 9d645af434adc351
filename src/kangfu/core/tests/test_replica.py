"""Reads from a streaming replica (core.dbrouting), against a real one.

The test makes its own primary and replica clusters on free ports (initdb, then `pg_basebackup -R`),
so the shared server on 5432 is not reconfigured, and runs `replica_probe.py` against them in a
process with production settings. It runs in the PostgreSQL pass of `.ci/run`, where the binaries are.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.db import connection

from kangfu.core import dbrouting
from kangfu.core.dbrouting import ReplicaRouter, in_replica_scope, replica_reads

PG_BIN = Path(os.environ.get("KANGFU_PG_BIN", "/usr/lib/postgresql/15/bin"))
PROBE = Path(__file__).with_name("replica_probe.py")


def _why_not() -> str | None:
    if connection.vendor != "postgresql":
        return "a streaming replica is PostgreSQL's: run with DATABASE_URL=postgres://…"
    missing = [b for b in ("initdb", "pg_ctl", "pg_basebackup") if not (PG_BIN / b).exists()]
    if missing:
        return f"PostgreSQL server binaries not found in {PG_BIN} ({', '.join(missing)}); set KANGFU_PG_BIN"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser: the clusters must run as the postgres user"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*argv: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


def _run(*argv: str) -> None:
    subprocess.run(_as_postgres(*argv), check=True, capture_output=True, timeout=60)


@pytest.fixture
def clusters():
    """A primary and its streaming replica, each on a free port, in a directory removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="kangfu-replica-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    primary, replica = base / "primary", base / "replica"
    ports = _free_port(), _free_port()
    options = f"-k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    started = []
    try:
        _run(str(PG_BIN / "initdb"), "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync")
        _run(str(PG_BIN / "pg_ctl"), "-D", str(primary), "-o", f"-p {ports[0]} {options}",
             "-l", str(base / "primary.log"), "-w", "start")  # fmt: skip
        started.append(primary)
        # -R writes primary_conninfo and standby.signal: the copy starts as a streaming replica.
        _run(str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(ports[0]), "-U", "postgres",
             "-D", str(replica), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        _run(str(PG_BIN / "pg_ctl"), "-D", str(replica), "-o", f"-p {ports[1]} {options}",
             "-l", str(base / "replica.log"), "-w", "start")  # fmt: skip
        started.append(replica)
        yield {"base": base, "ports": ports, "replica_dir": replica}
    finally:
        for data in reversed(started):
            subprocess.run(
                _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")
def test_reporting_reads_use_the_replica_and_fall_back_to_the_primary(clusters):
    primary_port, replica_port = clusters["ports"]
    stop = " ".join(
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(clusters["replica_dir"]), "-m", "fast", "-w", "stop")
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kangfu.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{primary_port}/postgres",
        "DATABASE_REPLICA_URL": f"postgres://postgres@127.0.0.1:{replica_port}/postgres",
        "KANGFU_REPLICA_MAX_LAG": "1",
        "KANGFU_LOG_FORMAT": "json",
        "KANGFU_TASK_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "PROBE_STOP_REPLICA": stop,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run([sys.executable, str(PROBE)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    logs = _routing_logs(done.stderr)

    # An export's rows come from the replica; the same read outside the scope from the primary.
    assert seen["export"]["replica"] == 1 and seen["export"]["primary"] == 0
    assert seen["outside_scope"] == {"primary": 1, "replica": 0, "result": 1}
    # Whoever wrote reads the primary: in the same scope, in a transaction, or later in the request.
    assert seen["write_then_read"]["result"] is True and seen["write_then_read"]["replica"] == 0
    assert seen["in_transaction"]["replica"] == 0
    assert seen["same_request"]["result"] is True and seen["same_request"]["replica"] == 0
    assert seen["readyz_ok"].startswith("ok")

    # Replay paused past KANGFU_REPLICA_MAX_LAG: the primary answers, and the log says why once.
    assert seen["lagging"]["replica"] == 0 and seen["lagging"]["primary"] == 1
    assert "primary" in seen["readyz_lagging"] and "lagging" in seen["readyz_lagging"]
    assert seen["resumed"]["replica"] == 1 and seen["resumed"]["primary"] == 0

    # The replica stopped: the primary answers at once, one warning, and the metrics say so.
    assert seen["down"]["primary"] == 1 and seen["down"]["replica"] == 0
    assert seen["down"]["result"] == seen["resumed"]["result"]
    assert seen["down_seconds"] < 5
    assert seen["down_again"]["replica"] == 0
    assert "unreachable" in seen["readyz_down"]
    assert "kangfu_replica_up 0.0" in seen["metrics"]
    assert any(line.startswith('kangfu_replica_fallbacks_total{reason="down"}') for line in seen["metrics"])

    assert [entry["level"] for entry in logs["lagging"]] == ["WARNING"]
    assert "lagging" in logs["lagging"][0]["replica"]
    assert [entry["level"] for entry in logs["resumed"]] == ["INFO"]
    assert [entry["level"] for entry in logs["down"]] == ["WARNING"]
    assert "unreachable" in logs["down"][0]["message"]


def _routing_logs(stderr: str) -> dict[str, list[dict]]:
    """The probe's JSON log lines from core.dbrouting, grouped by the step markers it prints."""
    steps: dict[str, list[dict]] = {"start": []}
    step = "start"
    for line in stderr.splitlines():
        if line.startswith("== "):
            step = line[3:].strip()
            steps[step] = []
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("logger") == "kangfu.dbrouting":
            steps[step].append(entry)
    return steps


# --- without a replica: nothing changes ------------------------------------------------------------


def test_without_a_replica_the_scope_changes_nothing():
    from kangfu.core.models import WorkerHeartbeat

    assert not dbrouting.replica_configured()
    router = ReplicaRouter()
    with replica_reads():
        assert in_replica_scope()
        assert router.db_for_read(WorkerHeartbeat) is None
        assert router.db_for_write(WorkerHeartbeat) is None
    assert not in_replica_scope()


def test_the_scope_works_as_a_decorator_with_or_without_brackets():
    @replica_reads
    def bare():
        return in_replica_scope()

    @replica_reads()
    def called():
        return in_replica_scope()

    assert bare() and called() and not in_replica_scope()
