"""Background work of 统计上报 (Django tasks: the database backend and `kangfu worker` in a deployment;
the tests run it at once)."""

from django.utils import timezone
from django_tasks import task

from kangfu.core import taskfaults
from kangfu.reports.models import Generation, GenerationStatus
from kangfu.reports.services import generation_run


@task()
def generate_report(generation_id: int) -> str:
    return generation_run(generation_id).status


def _generation_lost(message: str, generation_id: int) -> None:
    Generation.objects.filter(pk=generation_id, status=GenerationStatus.QUEUED).update(
        status=GenerationStatus.FAILED, error=message[:500], finished_at=timezone.now()
    )


# Safe to run again: a request still queued regenerates the unit's draft in place (a correction's new
# version is a draft too by then), and a finished one is left as it is.
taskfaults.declare(generate_report, idempotent=True, on_lost=_generation_lost)
