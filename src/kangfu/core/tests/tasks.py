"""A task for the test of `kangfu run`: the worker finds it by its dotted path, as it finds real ones."""

import time
from pathlib import Path

from django.db import OperationalError
from django_tasks import task

from kangfu.core import taskfaults


@task()
def write_marker(path: str, text: str) -> str:
    """Leaves a file the test can wait for: proof that a worker picked the task up and ran it."""
    Path(path).write_text(text)
    return text


# Tasks for the tests of tasks under faults (core/tests/test_task_faults.py): each adds a line to a
# file per run, so a test can count how often it ran.


def _ran(path: str) -> int:
    with Path(path).open("a") as runs:
        runs.write("ran\n")
    return len(Path(path).read_text().splitlines())


@task()
def recount(path: str) -> int:
    """Idempotent (declared below): running it again is harmless."""
    return _ran(path)


@task()
def send_once(path: str) -> int:
    """Not declared: like a message sent out, it must not run twice."""
    return _ran(path)


@task()
def flaky_recount(path: str, fail_times: int, error: str = "operational") -> int:
    """Idempotent; fails its first `fail_times` runs, with a transient database error or another one."""
    runs = _ran(path)
    if runs <= fail_times:
        raise (
            OperationalError("server closed the connection unexpectedly")
            if error == "operational"
            else (ValueError("a bad row"))
        )
    return runs


@task()
def flaky_send(path: str) -> int:
    """Not idempotent, and fails with a transient database error: never retried."""
    _ran(path)
    raise OperationalError("server closed the connection unexpectedly")


@task()
def slow_recount(path: str, seconds: float) -> int:
    """Idempotent; long enough to kill its worker in the middle (the check of `kangfu worker` by hand
    in the README's notes, and any test that needs a task still running)."""
    runs = _ran(path)
    time.sleep(seconds)
    return runs


taskfaults.declare(recount, idempotent=True)
taskfaults.declare(slow_recount, idempotent=True)
taskfaults.declare(flaky_recount, idempotent=True)
