"""Background work of 数据比对 (Django tasks: the database backend and `kangfu db_worker` in a
deployment; the demo and the tests run it at once)."""

from django_tasks import task

from kangfu.matching.comparison import run_execute
from kangfu.matching.models import ComparisonRun


@task()
def run_comparison(run_id: int) -> int:
    run = run_execute(ComparisonRun.objects.get(pk=run_id))
    return sum(run.found.values())
