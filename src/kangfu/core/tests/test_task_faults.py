"""Tasks under faults (core.taskfaults), on the database task backend: a worker killed mid-task leaves
its task RUNNING; `kangfu worker` finds it and queues it again if the task may run twice, or marks it
failed with a message if it may not. Transient database errors are retried, with a pause, only for
tasks that may run twice.

The tasks here run through django-tasks-db's own `Worker.run_task`, as `kangfu worker` runs them; a
"killed worker" is a heartbeat whose process is really gone."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import time

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone
from django_tasks.signals import task_finished
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, TaskResultStatus

from kangfu.core import taskfaults
from kangfu.core.models import WorkerHeartbeat
from kangfu.core.tests.tasks import flaky_recount, flaky_send, recount, send_once

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def database_tasks():
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        yield


@pytest.fixture
def retries():
    """What `kangfu worker` connects at start."""
    task_finished.connect(taskfaults.retry_after_failure, dispatch_uid="test-retry-transient")
    yield
    task_finished.disconnect(dispatch_uid="test-retry-transient")


@pytest.fixture
def dead_pid() -> int:
    """The number of a process that ran on this machine and was killed."""
    process = subprocess.Popen(["sleep", "60"])  # noqa: S607
    process.kill()
    process.wait()
    return process.pid


@pytest.fixture
def runs(tmp_path):
    path = tmp_path / "runs"

    class Runs:
        name = str(path)

        def __len__(self) -> int:
            return len(path.read_text().splitlines()) if path.exists() else 0

    return Runs()


def heartbeat(worker_id: str, *, pid: int, host: str | None = None, seen_ago=dt.timedelta(seconds=5)):
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        host=socket.gethostname()[:255] if host is None else host,
        pid=pid,
        # Started after this test process did, as a worker that is this process would have.
        started_at=now,
        seen_at=now - seen_ago,
    )


def claimed(result, *worker_ids: str) -> DBTaskResult:
    """The task as a worker leaves it when it is killed while running it."""
    row = DBTaskResult.objects.get(id=result.id)
    for worker_id in worker_ids:
        row.claim(worker_id)
    return row


def work(worker_id: str = "w-next") -> DBTaskResult | None:
    """What `kangfu worker` does with the next ready task: claim it and run it."""
    row = DBTaskResult.objects.ready().get_locked()
    if row is None:
        return None
    row.claim(worker_id)
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run_task(row)
    row.refresh_from_db()
    return row


def status(result) -> str:
    return DBTaskResult.objects.get(id=result.id).status


# --- a worker killed mid-task ----------------------------------------------------------------------


def test_a_task_that_may_run_twice_is_queued_again_and_finished_by_the_next_worker(runs, dead_pid):
    result = recount.enqueue(runs.name)
    claimed(result, "w-killed")
    heartbeat("w-killed", pid=dead_pid)

    assert taskfaults.recover_lost_tasks() == {str(result.id): "requeued"}
    assert status(result) == TaskResultStatus.READY
    assert taskfaults.recover_lost_tasks() == {}

    finished = work()
    assert finished.status == TaskResultStatus.SUCCESSFUL and len(runs) == 1


def test_the_sweep_forgets_the_heartbeats_of_dead_workers_of_this_machine(dead_pid):
    heartbeat("w-killed", pid=dead_pid)
    heartbeat("w-alive", pid=os.getpid())
    heartbeat("w-far", pid=dead_pid, host="another-host")

    taskfaults.sweep()
    assert sorted(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["w-alive", "w-far"]


def test_a_task_that_must_not_run_twice_is_failed_with_a_message_and_never_run_again(runs, dead_pid):
    result = send_once.enqueue(runs.name)
    claimed(result, "w-killed")
    heartbeat("w-killed", pid=dead_pid)

    assert taskfaults.recover_lost_tasks() == {str(result.id): "failed"}
    row = DBTaskResult.objects.get(id=result.id)
    assert row.status == TaskResultStatus.FAILED
    assert row.traceback == taskfaults.WORKER_LOST
    assert row.exception_class_path == taskfaults.WORKER_LOST_PATH
    assert work() is None and len(runs) == 0


def test_a_task_that_killed_its_worker_three_times_is_given_up(runs, dead_pid):
    result = recount.enqueue(runs.name)
    claimed(result, "w-1", "w-2", "w-killed")
    heartbeat("w-killed", pid=dead_pid)

    assert taskfaults.recover_lost_tasks() == {str(result.id): "failed"}
    assert DBTaskResult.objects.get(id=result.id).traceback == taskfaults.GAVE_UP


def test_a_killed_worker_its_parent_has_not_yet_reaped_is_lost(runs):
    zombie = subprocess.Popen(["sleep", "60"])  # noqa: S607
    zombie.kill()
    try:
        result = recount.enqueue(runs.name)
        claimed(result, "w-zombie")
        heartbeat("w-zombie", pid=zombie.pid)
        assert wait_for_zombie(zombie.pid)
        assert taskfaults.recover_lost_tasks() == {str(result.id): "requeued"}
    finally:
        zombie.wait()


def wait_for_zombie(pid: int) -> bool:
    for _ in range(100):
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        time.sleep(0.02)
    return False


def test_the_task_of_a_live_worker_is_left_running_however_late_its_heartbeat(runs):
    result = recount.enqueue(runs.name)
    claimed(result, "w-busy")
    # This very process, whose heartbeat is held up (a long write on SQLite holds the lock).
    heartbeat("w-busy", pid=os.getpid(), seen_ago=dt.timedelta(minutes=30))

    assert taskfaults.recover_lost_tasks() == {}
    assert status(result) == TaskResultStatus.RUNNING


def test_a_process_that_took_a_dead_workers_number_is_not_taken_for_it(runs):
    result = recount.enqueue(runs.name)
    claimed(result, "w-old")
    beat = heartbeat("w-old", pid=os.getpid())
    # The worker with this number started long before this process did.
    WorkerHeartbeat.objects.filter(pk=beat.pk).update(started_at=timezone.now() - dt.timedelta(days=400))

    assert taskfaults.recover_lost_tasks() == {str(result.id): "requeued"}


def test_a_worker_on_another_machine_is_lost_only_when_its_heartbeat_is_minutes_old(runs):
    result = recount.enqueue(runs.name)
    claimed(result, "w-far")
    beat = heartbeat("w-far", pid=1, host="another-host", seen_ago=dt.timedelta(seconds=40))

    assert taskfaults.recover_lost_tasks() == {}
    WorkerHeartbeat.objects.filter(pk=beat.pk).update(seen_at=timezone.now() - dt.timedelta(minutes=6))
    assert taskfaults.recover_lost_tasks() == {str(result.id): "requeued"}


def test_a_worker_that_never_beat_is_lost_once_its_task_is_minutes_old(runs):
    result = recount.enqueue(runs.name)
    row = claimed(result, "w-silent")

    assert taskfaults.recover_lost_tasks() == {}
    DBTaskResult.objects.filter(id=row.id).update(started_at=timezone.now() - dt.timedelta(minutes=6))
    assert taskfaults.recover_lost_tasks() == {str(result.id): "requeued"}


def test_a_worker_that_finished_while_it_was_judged_lost_keeps_its_result(runs, dead_pid):
    result = recount.enqueue(runs.name)
    row = claimed(result, "w-slow")
    heartbeat("w-slow", pid=dead_pid)
    row.set_successful(1)

    assert taskfaults.recover_lost_tasks() == {}
    assert status(result) == TaskResultStatus.SUCCESSFUL


# --- transient errors ------------------------------------------------------------------------------


def test_a_transient_database_error_is_retried_after_a_pause(runs, retries):
    flaky_recount.enqueue(runs.name, 1)
    started = timezone.now()

    row = work()
    assert row.status == TaskResultStatus.READY
    assert row.run_after >= started + taskfaults.RETRY_DELAYS[0]
    assert work() is None  # not before the pause is over

    with time_machine.travel(row.run_after + dt.timedelta(seconds=1)):
        assert work().status == TaskResultStatus.SUCCESSFUL
    assert len(runs) == 2


def test_retries_stop_after_three_attempts(runs, retries):
    result = flaky_recount.enqueue(runs.name, 10)
    for attempt in range(1, taskfaults.MAX_ATTEMPTS + 2):
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=10 * attempt)):
            work()
    assert status(result) == TaskResultStatus.FAILED
    assert len(runs) == taskfaults.MAX_ATTEMPTS


def test_other_errors_and_tasks_that_must_not_run_twice_are_not_retried(runs, retries):
    bad_row = flaky_recount.enqueue(runs.name, 1, "value")
    assert str(work().id) == bad_row.id
    send = flaky_send.enqueue(runs.name)
    assert str(work().id) == send.id

    assert status(bad_row) == status(send) == TaskResultStatus.FAILED
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1)):
        assert work() is None
    assert len(runs) == 2
