"""A payroll computation whose task worker died (core.taskfaults): the payroll may be computed twice
without harm, so its task is queued again and the next worker finishes it; one that keeps killing its
worker is given up, and the payroll page says so and offers to start again."""

import datetime as dt
import socket
import subprocess

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult, TaskResultStatus

from kangfu.core import taskfaults
from kangfu.core.models import WorkerHeartbeat
from kangfu.subsidies.models import Payroll, PayrollStatus
from kangfu.subsidies.services import payroll
from kangfu.subsidies.tests.factories import approve

pytestmark = pytest.mark.django_db
NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def frozen():
    with (
        time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False),
        override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}),
    ):
        yield


@pytest.fixture
def recipient(standards, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju)
    return applicant


@pytest.fixture
def killed_worker() -> str:
    """A worker of this machine that was killed: its heartbeat remains, its process is gone."""
    process = subprocess.Popen(["sleep", "60"])  # noqa: S607
    process.kill()
    process.wait()
    WorkerHeartbeat.objects.create(
        worker_id="w-killed", host=socket.gethostname()[:255], pid=process.pid, seen_at=timezone.now()
    )
    return "w-killed"


def started_and_lost(quju, hexi, worker_id, *, attempts=1, capture) -> DBTaskResult:
    with capture(execute=True):
        payroll.payroll_start(actor=quju, district=hexi, month=NOVEMBER)
    task = DBTaskResult.objects.get(task_path="kangfu.subsidies.tasks.compute_payroll")
    for _ in range(attempts):
        task.claim(worker_id)
    return task


def run_next(worker_id="w-next") -> None:
    task = DBTaskResult.objects.ready().get_locked()
    task.claim(worker_id)
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run_task(task)


def test_a_payroll_whose_worker_died_is_computed_by_the_next_worker(
    recipient, hexi, quju, killed_worker, django_capture_on_commit_callbacks
):
    task = started_and_lost(quju, hexi, killed_worker, capture=django_capture_on_commit_callbacks)
    run = Payroll.objects.get()
    assert (run.status, run.line_count) == (PayrollStatus.RUNNING, 0)

    assert taskfaults.recover_lost_tasks() == {str(task.id): "requeued"}
    assert payroll.payroll_busy(Payroll.objects.get())  # still under way: no second start meanwhile
    run_next()

    run.refresh_from_db()
    assert (run.status, run.total, run.error, run.run_by) == (PayrollStatus.DRAFT, 1500, "", quju)
    assert DBTaskResult.objects.get(id=task.id).status == TaskResultStatus.SUCCESSFUL


def test_a_payroll_that_keeps_killing_its_worker_is_given_up_and_may_be_started_again(
    login, recipient, hexi, quju, killed_worker, django_capture_on_commit_callbacks
):
    task = started_and_lost(
        quju,
        hexi,
        killed_worker,
        attempts=taskfaults.MAX_ATTEMPTS,
        capture=django_capture_on_commit_callbacks,
    )

    assert taskfaults.recover_lost_tasks() == {str(task.id): "failed"}
    run = Payroll.objects.get()
    assert run.error == taskfaults.GAVE_UP and not payroll.payroll_busy(run)
    body = login(quju).get(f"/subsidies/payroll/{run.pk}/").content.decode()
    assert taskfaults.GAVE_UP in body and 'value="rerun"' in body
    assert not DBTaskResult.objects.ready().exists()
