"""Background work of 数据比对 (Django tasks: the database backend and `kangfu db_worker` in a
deployment; the demo and the tests run it at once)."""

from django.utils import timezone
from django_tasks import task

from kangfu.core import taskfaults
from kangfu.matching.comparison import run_execute
from kangfu.matching.models import ComparisonRun, RunStatus


@task()
def run_comparison(run_id: int) -> int:
    run = ComparisonRun.objects.get(pk=run_id)
    # Run again after its worker died between finishing and saying so: the items are all there, and
    # a second pass would find nothing new and overwrite the counts with zeros.
    if run.status != RunStatus.DONE:
        run = run_execute(run)
    return sum(run.found.values())


def _run_requeued(run_id: int) -> None:
    # A transient error marked the run failed; it is running again.
    ComparisonRun.objects.filter(pk=run_id, status=RunStatus.FAILED).update(
        status=RunStatus.RUNNING, error="", finished_at=None
    )


def _run_lost(message: str, run_id: int) -> None:
    ComparisonRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.FAILED, error=message[:300], finished_at=timezone.now()
    )


# Safe to run again: findings are staged, then written in one transaction, once per person, rule and
# month (`item_once_per_person_rule_period`), so a second run adds nothing already raised.
taskfaults.declare(run_comparison, idempotent=True, on_requeue=_run_requeued, on_lost=_run_lost)
