"""Background work of 数据交换 (Django tasks: the database backend and `kangfu db_worker` in a
deployment; the demo and the tests run it at once)."""

from django_tasks import task

from kangfu.exchange.services import batch_generate


@task()
def generate_batch(batch_id: int) -> int:
    return batch_generate(batch_id).row_count
