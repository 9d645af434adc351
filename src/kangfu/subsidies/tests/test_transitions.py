"""Every change of state in 两项补贴 is one conditional update (`core.transitions.advance`): acting on a
row that has moved since it was read — a double click, a colleague first, a stale copy — changes
nothing and raises `Conflict`, which the pages show as a refusal and the API answers with 409."""

import datetime as dt

import pytest
import time_machine

from kangfu.core.models import AuditAction, AuditEntry
from kangfu.core.transitions import Conflict
from kangfu.subsidies.models import Application, ApplicationStatus, Grant, GrantPeriod, GrantStatus, Kind
from kangfu.subsidies.services import applications, grants, payroll, reviews
from kangfu.subsidies.tests.factories import approve, submit

pytestmark = pytest.mark.django_db
M = dt.date


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def grant(standards, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju, care=False)
    return Grant.objects.get(person=applicant, kind=Kind.LIVING)


def test_a_decision_on_a_version_no_longer_current_is_a_conflict(standards, applicant, shequ):
    app = submit(applicant)
    seen = app.version
    applications.application_decide(actor=shequ, application=app, decision="return", opinion="缺材料")
    app.refresh_from_db()
    with pytest.raises(Conflict) as caught:
        applications.application_decide(
            actor=shequ, application=app, decision="return", opinion="再点一次", version=seen
        )
    assert caught.value.messages == [applications.TAKEN]
    assert app.steps.filter(decision="return").count() == 1


def test_deciding_an_application_no_one_waits_on_is_a_conflict(standards, applicant, shequ, jiedao, quju):
    app = approve(applicant, shequ, jiedao, quju)
    with pytest.raises(Conflict):
        applications.application_decide(actor=quju, application=app, decision="pass")


def test_a_stale_copy_cannot_decide_after_someone_else_did(standards, applicant, shequ, jiedao):
    app = submit(applicant)
    stale = Application.objects.get(pk=app.pk)
    applications.application_decide(actor=shequ, application=app, decision="pass")
    with pytest.raises(Conflict):
        applications.application_decide(actor=shequ, application=stale, decision="pass")
    assert Application.objects.get(pk=app.pk).status == ApplicationStatus.COMMUNITY_ACCEPTED


def test_a_second_resubmission_is_a_conflict(standards, applicant, shequ):
    app = submit(applicant)
    app = applications.application_decide(actor=shequ, application=app, decision="return", opinion="缺材料")
    stale = Application.objects.get(pk=app.pk)
    applications.application_resubmit(actor=shequ, application=app)
    with pytest.raises(Conflict):
        applications.application_resubmit(actor=shequ, application=stale)
    assert app.steps.filter(decision="resubmit").count() == 1


def test_a_regrade_of_a_grant_stopped_meanwhile_is_refused_and_adds_no_period(grant, quju):
    stale = Grant.objects.get(pk=grant.pk)
    grants.grant_stop(actor=quju, grant=grant, from_month=M(2026, 11, 1), stop_reason="death")
    periods = GrantPeriod.objects.filter(grant=grant).count()
    with pytest.raises(Conflict) as caught:
        grants.grant_regrade(actor=quju, grant=stale, from_month=M(2026, 10, 1), grade=1, reason="换证")
    assert caught.value.messages == [grants.NOT_ACTIVE]
    assert GrantPeriod.objects.filter(grant=grant).count() == periods


def test_a_regrade_without_a_category_keeps_the_grants_category(grant, quju):
    before = GrantPeriod.objects.filter(grant=grant).last().category
    grants.grant_regrade(actor=quju, grant=grant, from_month=M(2026, 11, 1), grade=1, reason="换证")
    latest = GrantPeriod.objects.filter(grant=grant).last()
    assert (latest.grade, latest.category) == (1, before)


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("stop", "stop"),
        ("suspend", "suspend"),
        ("stop", "transfer"),
    ],
)
def test_changing_a_grant_twice_from_the_same_state_is_a_conflict(grant, quju, first, again):
    from kangfu.core.models import Region

    actions = {
        "stop": lambda g: grants.grant_stop(
            actor=quju, grant=g, from_month=M(2026, 11, 1), stop_reason="death"
        ),
        "suspend": lambda g: grants.grant_suspend(
            actor=quju, grant=g, from_month=M(2026, 11, 1), reason="核实"
        ),
        "transfer": lambda g: grants.grant_transfer(
            actor=quju,
            grant=g,
            street=Region.objects.get(code="120104001000"),
            from_month=M(2026, 12, 1),
            reason="迁往南开",
        ),
    }
    stale = Grant.objects.get(pk=grant.pk)
    actions[first](grant)
    with pytest.raises(Conflict):
        actions[again](stale)


def test_resuming_a_grant_that_is_not_suspended_is_a_conflict(grant, quju):
    with pytest.raises(Conflict):
        grants.grant_resume(actor=quju, grant=grant, from_month=M(2026, 11, 1), reason="核实无误")
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.ACTIVE


def test_a_second_lock_is_a_conflict(grant, hexi, quju, quju2):
    run = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    payroll.payroll_lock(actor=quju2, payroll=run)
    with pytest.raises(Conflict) as caught:
        payroll.payroll_lock(actor=quju2, payroll=run)
    assert caught.value.messages == [payroll.NOT_DRAFT]


def test_a_debt_is_settled_only_from_the_amount_its_reader_saw(grant, hexi, quju, quju2):
    from decimal import Decimal

    from kangfu.subsidies.models import Recovery

    payroll.payroll_lock(
        actor=quju2, payroll=payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    )
    grants.grant_stop(actor=quju, grant=grant, from_month=M(2026, 10, 1), stop_reason="death")
    with time_machine.travel(dt.datetime(2026, 12, 5, tzinfo=dt.UTC), tick=False):
        payroll.payroll_lock(
            actor=quju2, payroll=payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 12, 1))
        )
    debt = Recovery.objects.get()
    stale = Recovery.objects.get(pk=debt.pk)
    payroll.recovery_repaid(actor=quju, recovery=debt, amount=Decimal("100.00"))
    with pytest.raises(Conflict):
        payroll._settle(stale, Decimal("100.00"), how="repaid", payroll=None, actor=quju, note="再点一次")
    debt.refresh_from_db()
    assert (debt.outstanding, debt.settlements.count()) == (Decimal("500.00"), 1)


def test_a_review_task_decided_twice_is_a_conflict(grant, hexi, quju, jiedao):
    task = reviews.review_campaign_start(
        actor=quju, district=hexi, year=2026, due_date=M(2026, 12, 31)
    ).tasks.get()
    stale = type(task).objects.get(pk=task.pk)
    reviews.review_task_decide(actor=jiedao, task=task, outcome="passed")
    with pytest.raises(Conflict):
        reviews.review_task_decide(actor=jiedao, task=stale, outcome="failed")
    assert Grant.objects.get(pk=grant.pk).status == GrantStatus.ACTIVE


def test_the_page_refuses_a_second_click_on_a_decision(login, standards, applicant, shequ):
    app = submit(applicant)
    client = login(shequ)
    form = {"decision": "return", "opinion": "缺材料", "version": app.version}
    assert client.post(f"/subsidies/applications/{app.pk}/", form).status_code == 302
    again = client.post(f"/subsidies/applications/{app.pk}/", form)
    assert again.status_code == 400
    assert applications.TAKEN in again.content.decode()
    assert app.steps.filter(decision="return").count() == 1


def test_the_indicators_export_writes_its_audit_row(login, standards, quju):
    response = login(quju).get("/reports/subsidies/?export=xlsx")
    assert response["Content-Disposition"] == 'attachment; filename="subsidies-indicators.xlsx"'
    assert AuditEntry.objects.filter(
        action=AuditAction.EXPORT, object_type="subsidies.indicators", actor=quju
    ).exists()
