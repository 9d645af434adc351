"""A comparison run whose task worker died or met a transient database error (core.taskfaults): the
run may be executed twice without raising an item twice, so its task is queued again; the run's page
shows it running again, or failed with the reason once it is given up."""

import datetime as dt
import socket
import subprocess

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, TaskResultStatus

from kangfu.core import taskfaults
from kangfu.core.models import Role, WorkerHeartbeat
from kangfu.core.tests.factories import UserFactory
from kangfu.matching import comparison
from kangfu.matching.models import ComparisonRun, RunStatus
from kangfu.matching.tests.conftest import HEXI

pytestmark = pytest.mark.django_db
NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def database_tasks():
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        yield


@pytest.fixture
def started(db, django_capture_on_commit_callbacks) -> ComparisonRun:
    quju = UserFactory(username="qj", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)
    with django_capture_on_commit_callbacks(execute=True):
        return comparison.run_request(actor=quju, district=quju.jurisdiction, period=NOVEMBER)


def lost(*worker_ids: str) -> DBTaskResult:
    """The run's task as a worker killed while running it leaves it."""
    process = subprocess.Popen(["sleep", "60"])  # noqa: S607
    process.kill()
    process.wait()
    WorkerHeartbeat.objects.create(
        worker_id=worker_ids[-1], host=socket.gethostname()[:255], pid=process.pid, seen_at=timezone.now()
    )
    task = DBTaskResult.objects.get(task_path="kangfu.matching.tasks.run_comparison")
    for worker_id in worker_ids:
        task.claim(worker_id)
    return task


def run_next() -> DBTaskResult:
    task = DBTaskResult.objects.ready().get_locked()
    task.claim("w-next")
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="w-next",
        excluded_queue_names=[],
    ).run_task(task)
    task.refresh_from_db()
    return task


def test_a_run_whose_worker_died_is_finished_by_the_next_worker(started):
    task = lost("w-killed")
    assert taskfaults.recover_lost_tasks() == {str(task.id): "requeued"}
    assert run_next().status == TaskResultStatus.SUCCESSFUL
    started.refresh_from_db()
    assert started.status == RunStatus.DONE


def test_a_run_that_keeps_killing_its_worker_is_failed_with_the_reason(started):
    task = lost("w-1", "w-2", "w-killed")
    assert taskfaults.recover_lost_tasks() == {str(task.id): "failed"}
    started.refresh_from_db()
    assert (started.status, started.error) == (RunStatus.FAILED, taskfaults.GAVE_UP)


def test_a_finished_run_run_again_keeps_its_counts(started):
    task = DBTaskResult.objects.get(task_path="kangfu.matching.tasks.run_comparison")
    run_next()
    # What the run found (an empty test world finds nothing, which a second pass would also "find").
    ComparisonRun.objects.filter(pk=started.pk).update(found={"death": 3})
    DBTaskResult.objects.filter(id=task.id).update(status=TaskResultStatus.READY)
    assert run_next().return_value == 3
    started.refresh_from_db()
    assert (started.status, started.found) == (RunStatus.DONE, {"death": 3})
