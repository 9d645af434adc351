"""A payroll run is started by one service (`payroll_start`, for the page and the API) and computed by a
task (`payroll_run`, synchronous, which the demo and the other tests call directly). The page shows the
run while it goes, and the one who started it is the one who computed it."""

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.core.exceptions import ValidationError

from kangfu.core.transitions import Conflict
from kangfu.subsidies.models import Payroll, PayrollStatus
from kangfu.subsidies.services import payroll
from kangfu.subsidies.tests.factories import approve

pytestmark = pytest.mark.django_db
M = dt.date
NOVEMBER = M(2026, 11, 1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def recipient(standards, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju)
    return applicant


def page(response):
    return response.content.decode()


def test_a_start_marks_the_month_running_and_computes_only_once_committed(
    recipient, hexi, quju, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        run = payroll.payroll_start(actor=quju, district=hexi, month=NOVEMBER)
    assert (run.status, run.line_count, run.run_by) == (PayrollStatus.RUNNING, 0, quju)
    assert payroll.payroll_busy(run)
    assert len(queued) == 1
    queued[0]()
    run.refresh_from_db()
    assert (run.status, run.total, run.error) == (PayrollStatus.DRAFT, 1500, "")


def test_a_second_start_while_the_first_runs_is_a_conflict(recipient, hexi, quju, quju2):
    payroll.payroll_start(actor=quju, district=hexi, month=NOVEMBER)
    with pytest.raises(Conflict) as caught:
        payroll.payroll_start(actor=quju2, district=hexi, month=NOVEMBER)
    assert caught.value.messages == [payroll.ALREADY_RUNNING]
    assert Payroll.objects.get().run_by == quju


def test_a_locked_month_cannot_be_started(recipient, hexi, quju, quju2):
    payroll.payroll_lock(actor=quju2, payroll=payroll.payroll_run(actor=quju, district=hexi, month=NOVEMBER))
    with pytest.raises(ValidationError) as caught:
        payroll.payroll_start(actor=quju, district=hexi, month=NOVEMBER)
    assert caught.value.messages == [payroll.LOCKED]


def test_a_future_month_is_refused_before_anything_is_queued(
    recipient, hexi, quju, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued, pytest.raises(ValidationError):
        payroll.payroll_start(actor=quju, district=hexi, month=M(2026, 12, 1))
    assert queued == [] and not Payroll.objects.exists()


def test_a_run_that_crashes_says_so_keeps_nothing_and_may_be_started_again(
    recipient, hexi, quju, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(payroll, "payroll_compute", side_effect=RuntimeError("disk full")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = payroll.payroll_start(actor=quju, district=hexi, month=NOVEMBER)
    run.refresh_from_db()
    assert (run.status, run.error, run.lines.count()) == (PayrollStatus.RUNNING, payroll.RUN_FAILED, 0)
    assert not payroll.payroll_busy(run)
    with django_capture_on_commit_callbacks(execute=True):
        payroll.payroll_start(actor=quju, district=hexi, month=NOVEMBER)
    run.refresh_from_db()
    assert (run.status, run.error) == (PayrollStatus.DRAFT, "")


def test_a_run_that_never_finished_may_be_started_again_after_an_hour(recipient, hexi, quju):
    payroll.payroll_start(actor=quju, district=hexi, month=NOVEMBER)
    with pytest.raises(Conflict):
        payroll.payroll_start(actor=quju, district=hexi, month=NOVEMBER)
    with time_machine.travel(dt.datetime(2026, 11, 20, 11, 1, tzinfo=dt.UTC), tick=False):
        again = payroll.payroll_start(actor=quju, district=hexi, month=NOVEMBER)
    assert payroll.payroll_busy(again, now=again.started_at)


def test_the_page_polls_while_the_run_goes_and_reloads_when_it_is_done(
    login, recipient, hexi, quju, django_capture_on_commit_callbacks
):
    client = login(quju)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/subsidies/payroll/", {"month": "2026-11-01"})
    run = Payroll.objects.get()
    assert response["Location"] == f"/subsidies/payroll/{run.pk}/"
    body = page(client.get(f"/subsidies/payroll/{run.pk}/"))
    assert "正在计算" in body and 'hx-trigger="every 2s"' in body
    polled = client.get(f"/subsidies/payroll/{run.pk}/", HTTP_HX_REQUEST="true")
    assert "正在计算" in page(polled) and "HX-Refresh" not in polled
    queued[0]()
    done = client.get(f"/subsidies/payroll/{run.pk}/", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    assert 'id="payroll-total">1500.00' in page(client.get(f"/subsidies/payroll/{run.pk}/"))


def test_a_failed_run_shows_why_on_the_page_with_a_way_to_start_again(login, recipient, hexi, quju):
    run = payroll.payroll_start(actor=quju, district=hexi, month=NOVEMBER)
    Payroll.objects.filter(pk=run.pk).update(error=payroll.RUN_FAILED)
    body = page(login(quju).get(f"/subsidies/payroll/{run.pk}/"))
    assert payroll.RUN_FAILED in body and 'value="rerun"' in body and "every 2s" not in body


def test_the_one_who_started_a_run_from_the_page_cannot_lock_it(
    login, recipient, hexi, quju, quju2, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        login(quju).post("/subsidies/payroll/", {"month": "2026-11-01"})
    run = Payroll.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        login(quju2).post(f"/subsidies/payroll/{run.pk}/", {"action": "rerun"})
    run.refresh_from_db()
    assert run.run_by == quju2
    login(quju2).post(f"/subsidies/payroll/{run.pk}/", {"action": "lock"})
    run.refresh_from_db()
    assert run.status == PayrollStatus.DRAFT
    login(quju).post(f"/subsidies/payroll/{run.pk}/", {"action": "lock"})
    run.refresh_from_db()
    assert (run.status, run.locked_by) == (PayrollStatus.LOCKED, quju)
