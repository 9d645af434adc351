"""Background work of 两项补贴 (Django tasks: the database backend and `kangfu db_worker` in a
deployment; the demo and the tests run it at once)."""

from django_tasks import task

from kangfu.core import taskfaults
from kangfu.core.models import User
from kangfu.subsidies.models import Payroll, PayrollStatus
from kangfu.subsidies.services import payroll


@task()
def compute_payroll(payroll_id: int, actor_id: int | None) -> str:
    """Compute a payroll started by `payroll.payroll_start`, as the one who started it."""
    actor = User.objects.get(pk=actor_id) if actor_id is not None else None
    run = payroll.payroll_execute(
        payroll=Payroll.objects.select_related("district").get(pk=payroll_id), actor=actor
    )
    return run.status


def _payroll_lost(message: str, payroll_id: int, actor_id: int | None) -> None:
    # As a failed run does: the reason beside the running row, which a new start may then take over.
    Payroll.objects.filter(pk=payroll_id, status=PayrollStatus.RUNNING).update(error=message[:500])


def _payroll_requeued(payroll_id: int, actor_id: int | None) -> None:
    # A transient error left its reason on the row; the run is under way again, so the month is busy.
    Payroll.objects.filter(pk=payroll_id, status=PayrollStatus.RUNNING).update(error="")


# Safe to run again: `payroll_run` is one transaction holding the payroll row, replaces an unlocked
# month's lines with what the rules give, and refuses a locked month; a second run only recomputes.
taskfaults.declare(compute_payroll, idempotent=True, on_requeue=_payroll_requeued, on_lost=_payroll_lost)
