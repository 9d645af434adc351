"""Running the system: the web server (gunicorn), the task worker's heartbeat, and the supervisor
behind `kangfu run` that keeps both going on a single machine."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.contrib.staticfiles.apps import StaticFilesConfig as _StaticFilesConfig

logger = logging.getLogger("kangfu.serving")

# Metric files of gunicorn's workers go in a directory made for one server's life (core.observability).
METRICS_DIR_PREFIX = "kangfu-metrics-"


class StaticFilesConfig(_StaticFilesConfig):
    """`collectstatic` leaves out the ECharts builds the pages do not load: only `echarts.min.js` is
    used, and hashing and compressing the other 50 MB of its package took a start 40 s."""

    ignore_patterns = [
        *_StaticFilesConfig.ignore_patterns,
        "echarts.js",
        "echarts.js.map",
        "echarts.common*",
        "echarts.esm*",
        "echarts.simple*",
        "extension",
    ]


def collected_static_is_current() -> bool:
    """Whether `collectstatic` has nothing to add: its manifest exists and no file the finders offer
    is newer. Collecting takes seconds (every file hashed and compressed); looking takes a moment."""
    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    ignore = StaticFilesConfig.ignore_patterns
    for finder in get_finders():
        for path, storage in finder.list(ignore):
            if os.stat(storage.path(path)).st_mtime > built:
                return False
    return True


def cores() -> int:
    """The cores this process may run on (a container's or a cgroup's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def web_workers(requested: int | None = None) -> int:
    """One worker per core and one more. The pages are CPU-bound: the database on the same machine
    answers most queries in well under a millisecond, so gunicorn's usual 2 × cores + 1 (while one
    worker waits on the database, another computes) only added switching between processes: on two
    cores, 3 workers served 131–156 pages a second where 5 served 115–134, same runs (bench/load.py).
    With the database on another machine, where a worker does wait, raise it with `--workers` or
    KANGFU_WEB_WORKERS."""
    if requested:
        return requested
    configured = os.environ.get("KANGFU_WEB_WORKERS", "").strip()
    if configured:
        return int(configured)
    return cores() + 1


def normalise_bind(addrport: str) -> str:
    """`8000` → `127.0.0.1:8000`; `host:port`, `[::1]:port` and `unix:/path` pass as they are."""
    return f"127.0.0.1:{addrport}" if addrport.isdigit() else addrport


def gunicorn_command(*, bind: str, workers: int, threads: int, timeout: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:kangfu.core.gunicorn_conf",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        str(timeout),
        "kangfu.wsgi:application",
    ]


def gunicorn_environment() -> dict[str, str]:
    """The environment gunicorn starts with: the settings module, and a metrics directory unless the
    operator named one (it must be set before prometheus-client is first imported, hence here)."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "kangfu.settings")
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX)
    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    return env


def clear_metrics_dir(path: str, *, remove: bool) -> None:
    """A new server starts its counters at zero: the files of a previous one would add to them."""
    directory = Path(path)
    if not directory.is_dir():
        return
    for metrics_file in directory.glob("*.db"):
        metrics_file.unlink(missing_ok=True)
    if remove and directory.name.startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)


# --- the task worker's heartbeat -------------------------------------------------------------------

HEARTBEAT_SECONDS = 15
FORGET_AFTER = timedelta(days=1)


def heartbeat_record(*, worker_id: str, started_at) -> None:
    """This worker is alive now; rows of workers gone for a day are dropped on the way."""
    from django.utils import timezone

    from kangfu.core.models import WorkerHeartbeat

    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"seen_at": now, "host": socket.gethostname()[:255], "pid": os.getpid()},
        create_defaults={
            "seen_at": now,
            "started_at": started_at,
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
        },
    )
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def heartbeat_forget(*, worker_id: str) -> None:
    """A worker that stops cleanly says so at once, so readiness does not wait a minute to notice."""
    from kangfu.core.models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


class Heartbeat(threading.Thread):
    """Writes the heartbeat from its own thread, so that a long task does not silence it. On SQLite a
    beat may wait for the task's write lock; a missed beat is logged and the next one tries again."""

    def __init__(self, *, worker_id: str, interval: float = HEARTBEAT_SECONDS) -> None:
        super().__init__(name="kangfu-heartbeat", daemon=True)
        from django.utils import timezone

        self.worker_id = worker_id
        self.interval = interval
        self.started_at = timezone.now()
        self._stopping = threading.Event()

    def run(self) -> None:
        from django.db import connections

        while True:
            try:
                heartbeat_record(worker_id=self.worker_id, started_at=self.started_at)
            except Exception:
                logger.warning("worker heartbeat not written", exc_info=True)
            finally:
                connections.close_all()
            if self._stopping.wait(self.interval):
                return

    def stop(self) -> None:
        from django.db import connections

        self._stopping.set()
        self.join(timeout=30)
        try:
            heartbeat_forget(worker_id=self.worker_id)
        except Exception:
            logger.warning("worker heartbeat not removed", exc_info=True)
        finally:
            connections.close_all()


class Periodic(threading.Thread):
    """Runs the apps' periodic work (`core.registry.register_periodic`) in the worker, on its own
    thread so that neither a long task nor a slow receiver holds the other up. A job that fails is
    logged and tried again at its next turn."""

    def __init__(self, *, tick: float = 1.0) -> None:
        super().__init__(name="kangfu-periodic", daemon=True)
        self.tick = tick
        self._stopping = threading.Event()

    def run(self) -> None:
        from django.db import connections

        from kangfu.core.registry import periodic_jobs

        due: dict[str, float] = {}
        while not self._stopping.wait(self.tick):
            for job in periodic_jobs():
                if time.monotonic() < due.get(job.key, 0.0):
                    continue
                try:
                    job.run()
                except Exception:
                    logger.warning("periodic job %s failed", job.key, exc_info=True)
                finally:
                    connections.close_all()
                due[job.key] = time.monotonic() + job.every

    def stop(self) -> None:
        # Not waiting out a pass in progress: the supervisor allows the worker 40 s to stop, and a
        # pass cut short is safe (a receiver knows a re-sent event by its key).
        self._stopping.set()
        self.join(timeout=5)


# --- `kangfu run`: both processes, supervised ------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in a child before it starts: if the supervisor is killed outright (SIGKILL, OOM), the
    kernel sends the child SIGTERM, so no server is left holding the port. Linux only."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One supervised process: its command, and what the supervisor knows of its recent life."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0
    exits: list[float] = field(default_factory=list)

    def start(self) -> None:
        # Its own session: Ctrl-C in the terminal reaches only the supervisor, which then stops each
        # child once and gracefully (a second signal would make the worker abandon its task).
        self.process = subprocess.Popen(self.argv, start_new_session=True, preexec_fn=_die_with_parent)  # noqa: S603
        self.started = time.monotonic()
        logger.info("%s 已启动（进程 %s）", self.name, self.process.pid)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    """Keeps the web server and the task worker running: a process that dies is started again after
    a pause that grows with each quick death; one that dies five times in a minute is a fault a
    restart will not mend (a port taken, a bad setting), so both are stopped and `run` exits 1.
    SIGTERM and SIGINT stop both cleanly and `run` exits 0."""

    CRASH_LIMIT = 5
    CRASH_WINDOW = 60.0
    STOP_TIMEOUT = 40.0

    def __init__(self, children: Sequence[Child]) -> None:
        self.children = list(children)
        self.stopping = False

    def _on_signal(self, signum, frame) -> None:
        logger.info("收到 %s，正在停止网站和后台任务进程……", signal.Signals(signum).name)
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for child in self.children:
            child.start()
        code = 0
        restart_at: dict[str, float] = {}
        while not self.stopping:
            now = time.monotonic()
            for child in self.children:
                if child.alive():
                    continue
                if child.name not in restart_at:
                    status = child.process.returncode if child.process else None
                    child.exits = [t for t in child.exits if now - t < self.CRASH_WINDOW] + [now]
                    if len(child.exits) >= self.CRASH_LIMIT:
                        logger.error(
                            "%s 在一分钟内退出了 %s 次，停止全部进程。", child.name, len(child.exits)
                        )
                        self.stopping, code = True, 1
                        break
                    delay = min(2 ** (len(child.exits) - 1), 30)
                    logger.warning("%s 已退出（退出码 %s），%s 秒后重新启动。", child.name, status, delay)
                    restart_at[child.name] = now + delay
                elif now >= restart_at[child.name]:
                    del restart_at[child.name]
                    child.start()
            time.sleep(0.2)
        self.stop()
        return code

    def stop(self) -> None:
        for child in self.children:
            if child.alive():
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.STOP_TIMEOUT
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s 未按时停止，强制结束。", child.name)
                child.process.kill()
                child.process.wait()
        logger.info("网站和后台任务进程均已停止。")


def kangfu_command(*args: str) -> list[str]:
    """The same `kangfu` as the one running, whatever its install path."""
    return [sys.executable, "-m", "kangfu.cli", *args]
