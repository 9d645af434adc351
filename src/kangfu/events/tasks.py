"""Background work of the webhooks (Django tasks: the database backend and `kangfu worker`; the tests
run it at once). The worker also runs a pass every few seconds on its own (`events.apps`)."""

from django_tasks import task

from kangfu.events.delivery import deliver_due


@task()
def deliver() -> int:
    """One delivery pass; the number of events delivered."""
    return deliver_due().delivered
