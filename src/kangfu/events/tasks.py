"""Background work of the webhooks (Django tasks: the database backend and `kangfu worker`; the tests
run it at once). The worker also runs a pass every few seconds on its own (`events.apps`)."""

from django_tasks import task

from kangfu.core import taskfaults
from kangfu.events.delivery import deliver_due


@task()
def deliver() -> int:
    """One delivery pass; the number of events delivered."""
    return deliver_due().delivered


# Safe to run again: a delivery is marked delivered only once its receiver answered, and a receiver
# that saw it already recognises it by its key (X-Kangfu-Event-Id).
taskfaults.declare(deliver, idempotent=True)
