"""Background tasks under faults: a worker that died mid-task, and transient database errors.

django-tasks-db marks a task RUNNING when a worker claims it and finished when the worker says so; a
worker killed in between (OOM, SIGKILL, the machine lost) leaves the task RUNNING for ever, and its job
page waiting. `kangfu worker` looks for such tasks when it starts and every minute after
(`recover_lost_tasks`): a task whose worker is gone is

- queued again if its task is declared idempotent (running it twice gives what running it once does),
  at most MAX_ATTEMPTS times in all, so a task that kills its worker every time is not run for ever;
- otherwise marked failed, with WORKER_LOST as its error, never run again by us; the app's `on_lost`
  puts the message on its job page, where whoever started it decides.

A task that raised a transient database error (OperationalError: a connection dropped, a failover, a
deadlock) is queued again after a growing pause, if and only if it is declared idempotent.

Apps declare their tasks where they define them (`core` names no app):

    compute_payroll = taskfaults.declare(compute_payroll, idempotent=True)

A task nobody declared is treated as not idempotent: failing loudly is safe, running twice may not be.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger("kangfu.tasks")

WORKER_LOST = "后台任务进程在运行此任务时意外退出，任务没有完成，也不会自动重做。请查看结果后重新发起。"
GAVE_UP = "后台任务进程多次在运行此任务时退出，已停止重试。请联系系统管理员。"
# The exception path a task lost with its worker is recorded under (there was no exception to record).
WORKER_LOST_PATH = "kangfu.core.taskfaults.WorkerLost"
# A worker on another machine is taken to be gone when its heartbeat is this old: long enough that a
# heartbeat waiting on a busy database (SQLite's write lock) is not mistaken for a death.
ORPHANED_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 3
# Pauses before the second and third attempt after a transient error.
RETRY_DELAYS = (timedelta(seconds=10), timedelta(seconds=60))
TRANSIENT = (OperationalError, InterfaceError)
SWEEP_SECONDS = 60


@dataclass(frozen=True)
class Recovery:
    """What may be done with a task whose run was cut short.

    `on_requeue(*args, **kwargs)` puts the job back where the task expects to find it before it runs
    again (a status the task moves on from); `on_lost(message, *args, **kwargs)` shows the message on
    the job page when the task is given up. Both run in the transaction that changes the task's row."""

    idempotent: bool = False
    on_requeue: Callable[..., None] | None = None
    on_lost: Callable[..., None] | None = None


_declared: dict[str, Recovery] = {}


def declare(task, *, idempotent: bool, on_requeue=None, on_lost=None):
    """Say how a task may be recovered; returns the task, so it can wrap the definition."""
    _declared[task.module_path] = Recovery(idempotent=idempotent, on_requeue=on_requeue, on_lost=on_lost)
    return task


def recovery_for(task_path: str) -> Recovery:
    """The task's declaration; its module is imported first, since that is where it declares."""
    if task_path not in _declared:
        with contextlib.suppress(ImportError, AttributeError, ValueError):
            import_string(task_path)
    return _declared.get(task_path, Recovery())


# --- is its worker alive? --------------------------------------------------------------------------


def _process_stat(pid: int) -> tuple[str, datetime] | None:
    """A process's state letter and start time on this machine (Linux's /proc), to tell a worker from
    a zombie or from a later process that was given its number; None where /proc cannot say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith(b"btime "))
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    started = datetime.fromtimestamp(boot + int(fields[19]) / ticks, tz=timezone.get_current_timezone())
    return fields[0].decode(), started


def _process_alive(pid: int, *, worker_started: datetime) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _process_stat(pid)
    if stat is None:
        return True
    state, started = stat
    # A zombie has finished; a process younger than the worker's first heartbeat is another program
    # that got the number.
    return state not in ("Z", "X") and started <= worker_started + timedelta(seconds=5)


def worker_alive(worker_id: str, *, heartbeat, task_started: datetime | None, now: datetime) -> bool:
    """On this machine, whether its process still runs (known at once, even if its heartbeat is held
    up by a long write); on another, whether it beat within ORPHANED_AFTER. A worker with no heartbeat
    row (never written, or dropped after a day) is judged by how long ago it claimed the task."""
    if heartbeat is None:
        return task_started is not None and task_started > now - ORPHANED_AFTER
    if heartbeat.pid and heartbeat.host == socket.gethostname()[:255]:
        return _process_alive(heartbeat.pid, worker_started=heartbeat.started_at)
    return heartbeat.seen_at > now - ORPHANED_AFTER


# --- recovery --------------------------------------------------------------------------------------


def recover_lost_tasks(*, now: datetime | None = None) -> dict[str, str]:
    """Requeue or fail every RUNNING task whose worker is gone; returns {task id: "requeued"|"failed"}.
    Each change is a conditional update on the row as it was read: two workers sweeping at once act on
    a task once, and a task that finished meanwhile is left as it finished. (A worker on another host
    that was only cut off, not dead, may still finish a task it lost; django-tasks-db then records its
    result over ours, and the task was one that may run twice, or was failed and not run again.)"""
    from django_tasks_db.models import DBTaskResult

    from kangfu.core.models import WorkerHeartbeat

    now = now or timezone.now()
    running = list(
        DBTaskResult.objects.running().values("id", "task_path", "worker_ids", "started_at", "args_kwargs")
    )
    if not running:
        return {}
    workers = {row["worker_ids"][-1] for row in running if row["worker_ids"]}
    beats = {beat.worker_id: beat for beat in WorkerHeartbeat.objects.filter(worker_id__in=workers)}
    outcomes: dict[str, str] = {}
    for row in running:
        worker = row["worker_ids"][-1] if row["worker_ids"] else ""
        if worker_alive(worker, heartbeat=beats.get(worker), task_started=row["started_at"], now=now):
            continue
        try:
            outcome = _recover(row, worker=worker, now=now)
        except Exception:
            # Left RUNNING: the next sweep tries again, and the log says why this one could not.
            logger.exception("task %s of a lost worker could not be recovered", row["id"])
            continue
        if outcome:
            outcomes[str(row["id"])] = outcome
    return outcomes


def _recover(row: dict, *, worker: str, now: datetime) -> str | None:
    from django_tasks_db.models import DBTaskResult, TaskResultStatus

    recovery = recovery_for(row["task_path"])
    args, kwargs = row["args_kwargs"].get("args", []), row["args_kwargs"].get("kwargs", {})
    attempts = len(row["worker_ids"])
    as_read = DBTaskResult.objects.filter(
        id=row["id"], status=TaskResultStatus.RUNNING, started_at=row["started_at"]
    )
    log = {"task_id": str(row["id"]), "task": row["task_path"], "worker_id": worker, "attempts": attempts}
    with transaction.atomic():
        if recovery.idempotent and attempts < MAX_ATTEMPTS:
            if as_read.update(status=TaskResultStatus.READY, run_after=now, started_at=None) != 1:
                return None
            if recovery.on_requeue:
                recovery.on_requeue(*args, **kwargs)
            logger.warning("task left running by a lost worker queued again", extra=log)
            return "requeued"
        message = GAVE_UP if recovery.idempotent else WORKER_LOST
        if (
            as_read.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                return_value=None,
                exception_class_path=WORKER_LOST_PATH,
                traceback=message,
            )
            != 1
        ):
            return None
        if recovery.on_lost:
            recovery.on_lost(message, *args, **kwargs)
        logger.warning("task left running by a lost worker marked failed", extra=log)
        return "failed"


def is_transient(exception_class_path: str) -> bool:
    try:
        cls = import_string(exception_class_path)
    except ImportError:
        return False
    return isinstance(cls, type) and issubclass(cls, TRANSIENT)


def retry_if_transient(result, *, now: datetime | None = None) -> bool:
    """After a task failed (`result` is its DBTaskResult): queue it again after RETRY_DELAYS if the
    error was a transient database error and the task is idempotent. Nothing else is retried."""
    from django_tasks_db.models import DBTaskResult, TaskResultStatus

    if result.status != TaskResultStatus.FAILED or not is_transient(result.exception_class_path):
        return False
    recovery = recovery_for(result.task_path)
    attempts = len(result.worker_ids)
    if not recovery.idempotent or attempts >= MAX_ATTEMPTS:
        return False
    now = now or timezone.now()
    delay = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    args, kwargs = result.args_kwargs.get("args", []), result.args_kwargs.get("kwargs", {})
    try:
        with transaction.atomic():
            queued = DBTaskResult.objects.filter(
                id=result.id, status=TaskResultStatus.FAILED, finished_at=result.finished_at
            ).update(status=TaskResultStatus.READY, run_after=now + delay, started_at=None, finished_at=None)
            if queued != 1:
                return False
            if recovery.on_requeue:
                recovery.on_requeue(*args, **kwargs)
    except DatabaseError:
        # The database is still away: the task stays failed, which is what it would be without us.
        logger.warning("task %s not queued again: the database did not answer", result.id, exc_info=True)
        return False
    logger.warning(
        "task failed with a transient database error; queued again",
        extra={
            "task_id": str(result.id),
            "task": result.task_path,
            "attempts": attempts,
            "retry_in_seconds": delay.total_seconds(),
        },
    )
    return True


def retry_after_failure(sender, task_result, **kwargs) -> None:
    """Receiver of django-tasks' `task_finished`, connected by `kangfu worker` only (tasks run in place
    in the demo and the tests have no queue to go back to)."""
    from django_tasks_db.models import DBTaskResult, TaskResultStatus

    if task_result.status != TaskResultStatus.FAILED:
        return
    try:
        retry_if_transient(DBTaskResult.objects.get(id=task_result.id))
    except Exception:
        logger.warning("task %s: could not decide on a retry", task_result.id, exc_info=True)


def forget_dead_workers() -> int:
    """Drops the heartbeats of this machine's workers whose process is gone, once their tasks are
    dealt with: readiness and the job pages then stop counting a dead worker as one that is there."""
    from kangfu.core.models import WorkerHeartbeat

    dead = [
        (beat.pk, beat.seen_at)
        for beat in WorkerHeartbeat.objects.filter(host=socket.gethostname()[:255], pid__isnull=False)
        if beat.pid != os.getpid() and not _process_alive(beat.pid, worker_started=beat.started_at)
    ]
    # A row beaten since it was read belongs to a live worker after all: left alone.
    return sum(WorkerHeartbeat.objects.filter(pk=pk, seen_at=seen).delete()[0] for pk, seen in dead)


def sweep() -> dict[str, str]:
    """`recover_lost_tasks`, then `forget_dead_workers`, for the worker: a database that does not
    answer is logged, not raised."""
    try:
        outcomes = recover_lost_tasks()
        forget_dead_workers()
    except Exception:
        logger.warning("looking for tasks of lost workers failed", exc_info=True)
        return {}
    return outcomes


class LostTaskWatch(threading.Thread):
    """`kangfu worker`'s look for tasks of lost workers every SWEEP_SECONDS, on its own thread so that
    a long task of this worker does not hold it up."""

    def __init__(self, *, every: float = SWEEP_SECONDS) -> None:
        super().__init__(name="kangfu-lost-tasks", daemon=True)
        self.every = every
        self._stopping = threading.Event()

    def run(self) -> None:
        from django.db import connections

        while not self._stopping.wait(self.every):
            try:
                sweep()
            finally:
                connections.close_all()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=30)
