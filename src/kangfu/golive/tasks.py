"""Background work of the imports (Django tasks: the database backend and `kangfu db_worker` in a
deployment; the demo and the tests run it at once)."""

from django_tasks import task

from kangfu.golive import services
from kangfu.golive.models import ImportJob


@task()
def check_job(job_id: int) -> str:
    return services.job_check(ImportJob.objects.get(pk=job_id)).status


@task()
def apply_job(job_id: int) -> str:
    return services.job_apply(ImportJob.objects.get(pk=job_id)).status
