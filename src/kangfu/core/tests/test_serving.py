"""The web server, the task worker and their supervisor (core.serving, `kangfu serve|worker|run`)."""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.utils import timezone

import kangfu
from kangfu.core import serving
from kangfu.core.models import WorkerHeartbeat
from kangfu.core.tests import migrated

# --- worker count -----------------------------------------------------------------------------------


def test_web_workers_are_one_per_core_and_one_more(monkeypatch):
    monkeypatch.delenv("KANGFU_WEB_WORKERS", raising=False)
    assert serving.web_workers() == serving.cores() + 1


def test_web_workers_follow_the_environment(monkeypatch):
    monkeypatch.setenv("KANGFU_WEB_WORKERS", "3")
    assert serving.web_workers() == 3


def test_web_workers_follow_the_option_first(monkeypatch):
    monkeypatch.setenv("KANGFU_WEB_WORKERS", "3")
    assert serving.web_workers(7) == 7


def test_a_web_worker_freezes_what_it_loaded_and_collects_young_objects_less_often():
    import gc

    from kangfu.core import gunicorn_conf

    before = gc.get_threshold()
    try:
        gunicorn_conf.post_worker_init(worker=None)
        # Django and the app's modules are out of every later collection's way…
        assert gc.get_freeze_count() > 10_000
        # …and a page's tens of thousands of new objects no longer start a collection per 700.
        assert gc.get_threshold()[0] >= 10_000
        garbage = []
        garbage.append(garbage)  # a cycle made after start-up is still collected
        del garbage
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_servers_workers_leave_the_access_line_to_the_application():
    """The application writes each request's line (with its request id, view and user); gunicorn,
    given a logging configuration, would build its own for every request only to drop it."""
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from kangfu.core import gunicorn_conf

    config = Config()
    config.set("logconfig_dict", gunicorn_conf.logconfig_dict)
    assert Logger(config).access_log_enabled  # gunicorn's own would build the line
    assert gunicorn_conf.logger_class is gunicorn_conf.Logger
    # Nothing of the request is read: none is given.
    assert gunicorn_conf.Logger(config).access(None, None, None, None) is None


def test_a_bare_port_binds_to_the_loopback_address():
    assert serving.normalise_bind("8000") == "127.0.0.1:8000"
    assert serving.normalise_bind("0.0.0.0:80") == "0.0.0.0:80"
    assert serving.normalise_bind("unix:/run/kangfu/web.sock") == "unix:/run/kangfu/web.sock"


# --- heartbeat --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_heartbeat_is_recorded_once_per_worker_and_forgotten_on_exit():
    started = timezone.now()
    serving.heartbeat_record(worker_id="w1", started_at=started)
    serving.heartbeat_record(worker_id="w1", started_at=started)
    assert WorkerHeartbeat.objects.get().pid == os.getpid()
    serving.heartbeat_forget(worker_id="w1")
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db
def test_heartbeats_of_workers_gone_for_a_day_are_dropped():
    WorkerHeartbeat.objects.create(worker_id="old", seen_at=timezone.now() - serving.FORGET_AFTER * 2)
    serving.heartbeat_record(worker_id="new", started_at=timezone.now())
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["new"]


# --- supervisor -------------------------------------------------------------------------------------


class QuickSupervisor(serving.Supervisor):
    CRASH_LIMIT = 2


def test_a_child_that_keeps_dying_is_restarted_then_both_are_stopped(tmp_path, own_signal_handlers):
    starts = tmp_path / "starts"
    dies = serving.Child(
        "dies", [sys.executable, "-c", f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)"]
    )
    lives = serving.Child("lives", [sys.executable, "-c", "import time; time.sleep(60)"])
    code = QuickSupervisor([dies, lives]).run()
    assert code == 1
    assert starts.read_text() == "xx"  # started, died, restarted once, died: given up
    assert lives.process.returncode == -signal.SIGTERM


@pytest.fixture
def own_signal_handlers():
    """The supervisor takes SIGINT and SIGTERM; pytest gets them back afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_ctrl_c_stops_every_child_and_exits_cleanly(own_signal_handlers):
    children = [
        serving.Child(name, [sys.executable, "-c", "import time; time.sleep(60)"])
        for name in ("web", "worker")
    ]
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
    assert serving.Supervisor(children).run() == 0
    assert [child.process.returncode for child in children] == [-signal.SIGTERM, -signal.SIGTERM]


# --- `kangfu run`, for real -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _wait_for(check, *, seconds: float, what: str, process: subprocess.Popen, log: Path, last=()):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        if process.poll() is not None:
            break
        time.sleep(0.5)
    output = log.read_text(errors="replace")
    if "Connection in use" in output or "Address already in use" in output:
        pytest.skip("gunicorn cannot bind a port on this machine")
    answer = f" (last answer: {list(last)[-1]})" if last else ""
    raise AssertionError(f"{what} did not happen{answer}:\n{output[-4000:]}")


@pytest.fixture
def city(tmp_path):
    """An environment of its own: a SQLite file, a static root, the database task backend, JSON logs."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": str(Path(kangfu.__file__).resolve().parent.parent),
        "KANGFU_ENV_FILE": "/nonexistent",
        "SECRET_KEY": "run-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "KANGFU_DATA_KEYS": "t1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "KANGFU_INDEX_KEY": "aW5kZXgta2V5LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3",
        "KANGFU_INSECURE_HTTP": "1",
        "KANGFU_STATIC_MANIFEST": "1",
        "KANGFU_LOG_FORMAT": "json",
        "KANGFU_STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kangfu.sqlite3'}",
    }
    # A migrated file to start from; `migrate` must still find it complete.
    migrated.sqlite_file(tmp_path / "kangfu.sqlite3", env)
    migrate = subprocess.run(
        serving.kangfu_command("migrate", "--noinput"), env=env, capture_output=True, text=True, check=False
    )
    assert migrate.returncode == 0, migrate.stderr[-4000:]
    return env


def test_kangfu_run_serves_pages_runs_queued_tasks_and_stops_cleanly(city, tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "run.log"
    with log.open("w") as out:
        supervisor = subprocess.Popen(
            serving.kangfu_command("run", f"127.0.0.1:{port}", "--workers", "2"),
            env=city,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(
            lambda: _get(f"{base}/healthz")[0] == 200,
            seconds=180,
            what="/healthz",
            process=supervisor,
            log=log,
        )

        # A page, with its request id, from gunicorn.
        status, headers, body = _get(f"{base}/login/")
        assert status == 200
        assert headers["Server"] == "gunicorn"
        request_id = headers["X-Request-ID"]

        # Static files: hashed names, compressed, cached for years.
        css = re.search(rb'/static/[^"]+\.[0-9a-f]{12}\.css', body)
        assert css, "no hashed stylesheet on the login page"
        status, headers, _ = _get(base + css.group().decode(), **{"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers["Content-Encoding"] == "gzip"
        assert "max-age=315360000" in headers["Cache-Control"]

        # A queued task is picked up by the worker.
        marker = tmp_path / "marker"
        enqueue = subprocess.run(
            serving.kangfu_command(
                "shell",
                "-c",
                f"from kangfu.core.tests.tasks import write_marker; write_marker.enqueue({str(marker)!r}, 'ran')",
            ),
            env=city,
            capture_output=True,
            text=True,
            check=False,
        )
        assert enqueue.returncode == 0, enqueue.stderr
        _wait_for(lambda: marker.exists(), seconds=60, what="the queued task", process=supervisor, log=log)
        assert marker.read_text() == "ran"

        # Ready: database, migrations, and the worker's heartbeat.
        answers = []

        def ready() -> bool:
            answers.append(_get(f"{base}/readyz"))
            return answers[-1][0] == 200

        _wait_for(ready, seconds=30, what="/readyz", process=supervisor, log=log, last=answers)
        status, _, metrics = _get(f"{base}/metrics")
        assert status == 200
        assert b'kangfu_http_requests_total{method="GET",status="200",view="login"} 1.0' in metrics
        assert b'task="kangfu.core.tests.tasks.write_marker"' in metrics

        # The worker killed in the middle of a task (kill -9, as the OOM killer does): the supervisor
        # starts another, which finds the task its predecessor left running, queues it again (it may
        # run twice) and finishes it, rather than leave it running for ever.
        runs = tmp_path / "runs"
        enqueue = subprocess.run(
            serving.kangfu_command(
                "shell",
                "-c",
                f"from kangfu.core.tests.tasks import slow_recount; slow_recount.enqueue({str(runs)!r}, 3)",
            ),
            env=city,
            capture_output=True,
            text=True,
            check=False,
        )
        assert enqueue.returncode == 0, enqueue.stderr
        _wait_for(
            lambda: runs.exists(), seconds=60, what="the slow task to start", process=supervisor, log=log
        )
        worker_pid = int(re.findall(r"后台任务进程 已启动（进程 (\d+)）", log.read_text())[-1])
        os.kill(worker_pid, signal.SIGKILL)
        _wait_for(
            lambda: len(runs.read_text().splitlines()) == 2 and "queued again" in log.read_text(),
            seconds=120,
            what="the killed worker's task to run again",
            process=supervisor,
            log=log,
        )
    finally:
        supervisor.send_signal(signal.SIGTERM)
        code = supervisor.wait(timeout=90)

    output = log.read_text(errors="replace")
    assert code == 0, output[-4000:]
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [
        line for line in lines if line.get("logger") == "kangfu.access" and line.get("path") == "/login/"
    ]
    assert access[0]["request_id"] == request_id
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with sqlite3.connect(tmp_path / "kangfu.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM core_workerheartbeat").fetchone()[0] == 0
