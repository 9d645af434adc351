"""Background work of 两项补贴 (Django tasks: the database backend and `kangfu db_worker` in a
deployment; the demo and the tests run it at once)."""

from django_tasks import task

from kangfu.core.models import User
from kangfu.subsidies.models import Payroll
from kangfu.subsidies.services import payroll


@task()
def compute_payroll(payroll_id: int, actor_id: int | None) -> str:
    """Compute a payroll started by `payroll.payroll_start`, as the one who started it."""
    actor = User.objects.get(pk=actor_id) if actor_id is not None else None
    run = payroll.payroll_execute(
        payroll=Payroll.objects.select_related("district").get(pk=payroll_id), actor=actor
    )
    return run.status
