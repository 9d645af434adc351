"""Background work of the imports (Django tasks: the database backend and `kangfu db_worker` in a
deployment; the demo and the tests run it at once)."""

from django_tasks import task

from kangfu.core import taskfaults
from kangfu.golive import services
from kangfu.golive.models import ImportJob, JobStatus


@task()
def check_job(job_id: int) -> str:
    return services.job_check(ImportJob.objects.get(pk=job_id)).status


@task()
def apply_job(job_id: int) -> str:
    return services.job_apply(ImportJob.objects.get(pk=job_id)).status


def _check_requeued(job_id: int) -> None:
    # The check starts only from 待检查; checking only reads, so it may start over.
    ImportJob.objects.filter(pk=job_id, status=JobStatus.CHECKING).update(
        status=JobStatus.UPLOADED, progress=0
    )


def _job_lost(message: str, job_id: int) -> None:
    ImportJob.objects.filter(pk=job_id, status__in=[JobStatus.CHECKING, JobStatus.APPLYING]).update(
        status=JobStatus.FAILED, message=message[:300]
    )


# Both are safe to run again: the check only reads, and the import is one transaction that ends by
# marking the job done, so a second run of a finished import does nothing (`job_apply` needs 导入中).
taskfaults.declare(check_job, idempotent=True, on_requeue=_check_requeued, on_lost=_job_lost)
taskfaults.declare(apply_job, idempotent=True, on_lost=_job_lost)
