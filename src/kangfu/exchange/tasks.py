"""Background work of 数据交换 (Django tasks: the database backend and `kangfu worker` in a deployment;
the demo and the tests run it at once)."""

from django.db.models import F
from django_tasks import task

from kangfu.core import taskfaults
from kangfu.exchange.models import Batch, BatchStatus
from kangfu.exchange.services import batch_generate


@task()
def generate_batch(batch_id: int) -> int:
    return batch_generate(batch_id).row_count


def _batch_lost(message: str, batch_id: int) -> None:
    Batch.objects.filter(pk=batch_id, status=BatchStatus.QUEUED).update(
        status=BatchStatus.FAILED, error=message[:500], version=F("version") + 1
    )


# Safe to run again: a batch still queued is written from the start into a temporary file, and only a
# finished file is stored and the batch marked generated, in one transaction.
taskfaults.declare(generate_batch, idempotent=True, on_lost=_batch_lost)
