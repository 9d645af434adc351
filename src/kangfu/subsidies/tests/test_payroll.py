import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Sum

from kangfu.core import partitions
from kangfu.core.transitions import Conflict
from kangfu.people.models import LifeEventKind
from kangfu.people.services import life_event_record
from kangfu.subsidies.models import (
    ApplicationStatus,
    BankStatus,
    Grant,
    HeldGrant,
    HoldRule,
    Kind,
    PayrollLine,
    PayrollStatus,
    Standard,
)
from kangfu.subsidies.services import grants, payroll
from kangfu.subsidies.services import standards as standard_services
from kangfu.subsidies.tests.factories import approve

pytestmark = pytest.mark.django_db

M = dt.date


def travel(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC), tick=False)


def run_and_lock(district, month, runner, locker):
    p = payroll.payroll_run(actor=runner, district=district, month=month)
    return payroll.payroll_lock(actor=locker, payroll=p)


def paid_for(person, kind=None):
    lines = PayrollLine.objects.filter(person=person, payroll__status=PayrollStatus.LOCKED).exclude(
        bank_status=BankStatus.FAILED
    )
    if kind:
        lines = lines.filter(kind=kind)
    return lines.aggregate(total=Sum("amount"))["total"] or Decimal("0")


@pytest.fixture(autouse=True)
def frozen():
    with travel(M(2026, 11, 20)):
        yield


def test_approval_pays_from_the_month_of_application_with_arrears(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    app = approve(applicant, shequ, jiedao, quju)
    assert app.status == ApplicationStatus.APPROVED
    p = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    lines = {(line.kind, line.month_for, line.line_type): line.amount for line in p.lines.all()}
    assert lines == {
        (Kind.LIVING, M(2026, 9, 1), "arrears"): Decimal("300.00"),
        (Kind.LIVING, M(2026, 10, 1), "arrears"): Decimal("300.00"),
        (Kind.LIVING, M(2026, 11, 1), "regular"): Decimal("300.00"),
        (Kind.CARE, M(2026, 9, 1), "arrears"): Decimal("200.00"),
        (Kind.CARE, M(2026, 10, 1), "arrears"): Decimal("200.00"),
        (Kind.CARE, M(2026, 11, 1), "regular"): Decimal("200.00"),
    }
    assert p.total == Decimal("1500.00") == sum(line.amount for line in p.lines.all())


def test_a_locked_month_is_not_paid_again(standards, hexi, applicant, shequ, jiedao, quju, quju2):
    approve(applicant, shequ, jiedao, quju)
    run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    with pytest.raises(ValidationError) as caught:
        payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    assert caught.value.messages == [payroll.LOCKED]
    with travel(M(2026, 12, 5)):
        december = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 12, 1))
    assert {(line.month_for, line.amount) for line in december.lines.all()} == {
        (M(2026, 12, 1), Decimal("300.00")),
        (M(2026, 12, 1), Decimal("200.00")),
    }


def test_an_unlocked_month_rerun_replaces_its_lines(standards, hexi, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju)
    first = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    again = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    assert first.pk == again.pk
    assert again.lines.count() == 6


def test_the_one_who_computed_cannot_lock(standards, hexi, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju)
    p = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    with pytest.raises(PermissionDenied):
        payroll.payroll_lock(actor=quju, payroll=p)


def test_a_back_dated_standard_raise_pays_the_difference_next_month(
    standards, hexi, applicant, shequ, jiedao, quju, quju2, city_admin
):
    approve(applicant, shequ, jiedao, quju)
    run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    old = Standard.objects.get(kind=Kind.CARE)
    old.valid_to = M(2026, 9, 1)
    old.save()
    standard_services.standard_save(
        actor=city_admin,
        standard=None,
        region=old.region,
        kind=Kind.CARE,
        grade_min=1,
        grade_max=2,
        amount=Decimal("250.00"),
        valid_from=M(2026, 10, 1),
    )
    with travel(M(2026, 12, 5)):
        december = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 12, 1))
    care = {(line.month_for, line.line_type): line.amount for line in december.lines.filter(kind=Kind.CARE)}
    assert care == {
        (M(2026, 10, 1), "arrears"): Decimal("50.00"),
        (M(2026, 11, 1), "arrears"): Decimal("50.00"),
        (M(2026, 12, 1), "regular"): Decimal("250.00"),
    }


def test_a_stop_back_dated_after_death_recovers_what_was_overpaid(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    approve(applicant, shequ, jiedao, quju)
    run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    life_event_record(actor=None, person=applicant, kind=LifeEventKind.DEATH, occurred_on=M(2026, 9, 20))
    for grant in Grant.objects.filter(person=applicant):
        grants.grant_stop(
            actor=quju, grant=grant, from_month=grants.stop_month_after(M(2026, 9, 20)), stop_reason="death"
        )
    with travel(M(2026, 12, 5)):
        december = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 12, 1))
    assert {(line.kind, line.month_for, line.line_type, line.amount) for line in december.lines.all()} == {
        (Kind.LIVING, M(2026, 10, 1), "recovery", Decimal("-300.00")),
        (Kind.LIVING, M(2026, 11, 1), "recovery", Decimal("-300.00")),
        (Kind.CARE, M(2026, 10, 1), "recovery", Decimal("-200.00")),
        (Kind.CARE, M(2026, 11, 1), "recovery", Decimal("-200.00")),
    }


def test_a_grant_that_no_longer_qualifies_is_held_not_paid(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    approve(applicant, shequ, jiedao, quju)
    run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    life_event_record(
        actor=None, person=applicant, kind=LifeEventKind.IMPRISONMENT, occurred_on=M(2026, 11, 19)
    )
    with travel(M(2026, 12, 5)):
        december = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 12, 1))
    assert december.lines.count() == 0
    assert set(HeldGrant.objects.filter(payroll=december).values_list("rule", flat=True)) == {HoldRule.VITAL}


def test_a_failed_bank_payment_is_paid_again_next_month(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    approve(applicant, shequ, jiedao, quju, care=False)
    november = run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    paid, _owing = payroll.payments(november)
    text = (
        "明细编号,金额,结果,原因\n"
        + f"{' '.join(map(str, paid[0].line_ids))},{paid[0].amount},失败,账户已销户\n"
    )
    report = payroll.bank_result_import(actor=quju, payroll=november, text=text)
    assert (report.failed, report.errors) == (3, [])
    with travel(M(2026, 12, 5)):
        december = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 12, 1))
    assert december.total == Decimal("1200.00")


def test_a_bank_file_with_unknown_duplicate_or_changed_lines_changes_nothing(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    approve(applicant, shequ, jiedao, quju, care=False)
    november = run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    paid, _ = payroll.payments(november)
    ids = " ".join(map(str, paid[0].line_ids))
    text = (
        "明细编号,金额,结果,原因\n"
        + f"{ids},{paid[0].amount},成功,\n"
        + f"{ids},{paid[0].amount},成功,\n"
        + "999999,10.00,成功,\n"
        + f"{ids},1.00,成功,\n"
    )
    report = payroll.bank_result_import(actor=quju, payroll=november, text=text)
    assert [line for line, _ in report.errors] == [3, 4, 5]
    assert not PayrollLine.objects.filter(bank_status=BankStatus.PAID).exists()


def _lose_certificate(person):
    person.certificates.update(status="cancelled")


def _expire_certificate(person):
    person.certificates.update(expires_on=M(2026, 10, 31))


def _move_away(person):
    person.hukou_region_id = "120110006001"
    person.save()


def _leave_dibao(person):
    person.income_periods.update(end_date=M(2026, 10, 31))


def _become_tekun(person):
    from kangfu.people.models import IncomePeriod

    person.income_periods.update(end_date=M(2026, 10, 31))
    IncomePeriod.objects.create(person=person, status="tekun", start_date=M(2026, 11, 1))


def _regrade_to_three(person):
    person.certificates.update(grade=3)


def _work_injury(person):
    from kangfu.subsidies.models import OtherBenefit

    OtherBenefit.objects.create(
        person=person, kind="work_injury_care", amount=Decimal("500"), start_date=M(2026, 1, 1)
    )


@pytest.mark.parametrize(
    ("change", "kind", "rule", "python_rule"),
    [
        (_lose_certificate, Kind.LIVING, HoldRule.CERTIFICATE, "certificate"),
        (_expire_certificate, Kind.CARE, HoldRule.CERTIFICATE, "certificate"),
        (_move_away, Kind.CARE, HoldRule.MOVED, "hukou"),
        (_leave_dibao, Kind.LIVING, HoldRule.INCOME, "income"),
        (_become_tekun, Kind.LIVING, HoldRule.EXCLUDED, "tekun"),
        (_regrade_to_three, Kind.CARE, HoldRule.GRADE, "grade"),
        (_work_injury, Kind.CARE, HoldRule.EXCLUDED, "work_injury"),
    ],
)
def test_the_payroll_holds_exactly_what_the_rules_refuse(
    standards, hexi, applicant, shequ, jiedao, quju, change, kind, rule, python_rule
):
    from kangfu.subsidies.services import facts

    approve(applicant, shequ, jiedao, quju)
    change(applicant)
    applicant.refresh_from_db()
    run = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    held = {(h.grant.kind, h.rule) for h in HeldGrant.objects.filter(payroll=run).select_related("grant")}
    assert (kind, rule) in held
    assert not run.lines.filter(kind=kind).exists()
    explanation = facts.explain(person=applicant, kind=kind, on=M(2026, 11, 15), district=hexi.code)
    assert python_rule in {v.rule for v in explanation.verdicts if not v.ok}


def test_a_held_month_is_paid_as_arrears_once_someone_confirms(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    approve(applicant, shequ, jiedao, quju, care=False)
    _leave_dibao(applicant)
    november = run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    assert november.total == 0
    from kangfu.people.models import IncomePeriod

    IncomePeriod.objects.filter(person=applicant).update(end_date=None)  # the 低保 end was a data error
    with travel(M(2026, 12, 5)):
        december = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 12, 1))
    assert december.total == Decimal("1200.00")  # September to December


def test_a_run_that_fails_half_way_leaves_nothing(
    standards, hexi, applicant, shequ, jiedao, quju, monkeypatch
):
    approve(applicant, shequ, jiedao, quju)

    def boom(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(payroll.audit, "record", boom)
    with pytest.raises(RuntimeError):
        payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    assert not PayrollLine.objects.exists()
    assert not payroll.Payroll.objects.exists()


def test_the_payment_file_has_one_line_per_person_and_only_after_the_lock(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    import csv
    import io

    approve(applicant, shequ, jiedao, quju)
    draft = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    with pytest.raises(ValidationError):
        payroll.payment_file(actor=quju, payroll=draft, fmt="csv")
    locked = payroll.payroll_lock(actor=quju2, payroll=draft)
    content, _type = payroll.payment_file(actor=quju, payroll=locked, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert (rows[0]["姓名"], rows[0]["金额"], rows[0]["银行账号"]) == (
        "周申请",
        "1500.00",
        "6222020000001234567",
    )


def test_a_negative_net_becomes_a_debt_offset_against_the_next_payment(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    from kangfu.subsidies.models import Recovery

    approve(applicant, shequ, jiedao, quju)
    run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    care = Grant.objects.get(person=applicant, kind=Kind.CARE)
    grants.grant_stop(actor=quju, grant=care, from_month=M(2026, 9, 1), stop_reason="fraud")  # never entitled
    with travel(M(2026, 12, 5)):
        december = run_and_lock(hexi, M(2026, 12, 1), quju, quju2)
    # December: living 300 − care recovered 3 × 200 = −300 owed.
    debt = Recovery.objects.get()
    assert (debt.amount, debt.outstanding) == (Decimal("300.00"), Decimal("300.00"))
    assert payroll.payments(december)[0] == []
    with travel(M(2027, 1, 5)):
        january = run_and_lock(hexi, M(2027, 1, 1), quju, quju2)
        paid, _ = payroll.payments(january)
    assert paid == []  # January's 300 all goes to the debt, so nothing is transferred
    debt.refresh_from_db()
    assert (debt.outstanding, debt.status) == (Decimal("0.00"), "settled")


def test_a_debt_can_be_recorded_as_repaid(standards, hexi, applicant, shequ, jiedao, quju, quju2):
    from kangfu.subsidies.models import Recovery

    approve(applicant, shequ, jiedao, quju, living=False)
    run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    grants.grant_stop(
        actor=quju, grant=Grant.objects.get(person=applicant), from_month=M(2026, 10, 1), stop_reason="death"
    )
    with travel(M(2026, 12, 5)):
        run_and_lock(hexi, M(2026, 12, 1), quju, quju2)
    debt = Recovery.objects.get()
    assert debt.outstanding == Decimal("400.00")
    with pytest.raises(ValidationError):
        payroll.recovery_repaid(actor=quju, recovery=debt, amount=Decimal("500"))
    payroll.recovery_repaid(actor=quju, recovery=debt, amount=Decimal("400"), note="家属退回")
    debt.refresh_from_db()
    assert debt.status == "settled"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions need PostgreSQL")
def test_two_runs_of_one_month_at_once_go_one_after_the_other(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    import threading

    approve(applicant, shequ, jiedao, quju)
    # The month's partition split by payroll (PostgreSQL), as a running city has it: each run then
    # attaches a table of lines, which locks the payrolls against writes (subsidies.0019).
    partitions.ensure(today=M(2026, 11, 20))
    barrier = threading.Barrier(2)
    errors = []

    def run(actor):
        from django.db import connection as thread_connection

        try:
            with travel(M(2026, 11, 20)):
                barrier.wait()
                payroll.payroll_run(actor=actor, district=hexi, month=M(2026, 11, 1))
        except Exception as exc:
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in (quju, quju2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert payroll.Payroll.objects.count() == 1
    assert PayrollLine.objects.count() == 6
    assert payroll.Payroll.objects.get().total == Decimal("1500.00")


def test_a_standard_changed_between_run_and_lock_is_still_paid_next_month(
    standards, hexi, applicant, shequ, jiedao, quju, quju2, city_admin
):
    approve(applicant, shequ, jiedao, quju, living=False)
    run = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    old = Standard.objects.get(kind=Kind.CARE)
    with travel(M(2026, 11, 21)):
        old.valid_to = M(2026, 10, 1)
        old.save()
        standard_services.standard_save(
            actor=city_admin,
            standard=None,
            region=old.region,
            kind=Kind.CARE,
            grade_min=1,
            grade_max=2,
            amount=Decimal("260.00"),
            valid_from=M(2026, 11, 1),
        )
        payroll.payroll_lock(actor=quju2, payroll=run)  # locks the run made before the change
    with travel(M(2026, 12, 5)):
        december = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 12, 1))
    assert {(line.month_for, line.amount) for line in december.lines.all()} == {
        (M(2026, 11, 1), Decimal("60.00")),
        (M(2026, 12, 1), Decimal("260.00")),
    }


def test_each_bank_gets_the_columns_it_asked_for(standards, hexi, applicant, shequ, jiedao, quju, quju2):
    import csv
    import io

    from kangfu.subsidies.models import PaymentFormat

    approve(applicant, shequ, jiedao, quju)
    locked = run_and_lock(hexi, M(2026, 11, 1), quju, quju2)
    content, _type = payroll.payment_file(actor=quju, payroll=locked, fmt="csv", bank="rural-bank")
    header = next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert header == [h for h, _f in PaymentFormat.objects.get(code="rural-bank").columns]
    assert header[0] == "账号"


@pytest.mark.parametrize(
    ("elderly", "paid"), [(Decimal("150.00"), True), (Decimal("200.00"), True), (Decimal("300.00"), False)]
)
def test_the_care_subsidy_beside_an_elderly_care_allowance_is_paid_only_while_it_is_the_higher(
    standards, hexi, applicant, shequ, jiedao, quju, elderly, paid
):
    """择高: ours (200) kept when the other is lower or equal, held when it is higher."""
    from kangfu.subsidies.models import OtherBenefit

    approve(applicant, shequ, jiedao, quju)
    OtherBenefit.objects.create(
        person=applicant, kind="elderly_care", amount=elderly, start_date=M(2026, 1, 1)
    )
    run = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    assert run.lines.filter(kind=Kind.CARE).exists() == paid
    assert HeldGrant.objects.filter(payroll=run, grant__kind=Kind.CARE).exists() != paid


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions need PostgreSQL")
def test_a_reviewer_who_re_runs_cannot_lock_in_another_tab_while_the_re_run_commits(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    """Separation of duties against timing: quju computed the month; quju2, the reviewer, presses
    re-run and, while it is committing, locks in a second tab from the page read before. The lock
    waits for the re-run and is then refused: quju2 computed what would be locked."""
    import threading
    import time

    approve(applicant, shequ, jiedao, quju)
    with travel(M(2026, 11, 20)):
        seen = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
    rerun_holds_the_row = threading.Event()
    outcome = {}

    def rerun():
        from django.db import connection as thread_connection
        from django.db import transaction

        try:
            with travel(M(2026, 11, 20)), transaction.atomic():
                payroll.payroll_run(actor=quju2, district=hexi, month=M(2026, 11, 1))
                rerun_holds_the_row.set()
                time.sleep(1.0)  # the lock below is now waiting on the payroll row
        finally:
            thread_connection.close()

    def lock():
        from django.db import connection as thread_connection

        rerun_holds_the_row.wait(10)
        try:
            payroll.payroll_lock(actor=quju2, payroll=seen)
            outcome["lock"] = "locked"
        except PermissionDenied as exc:
            outcome["lock"] = str(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=rerun), threading.Thread(target=lock)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcome == {"lock": payroll.SAME_PERSON}
    after = payroll.Payroll.objects.get()
    assert (after.status, after.run_by_id, after.locked_by_id) == (PayrollStatus.DRAFT, quju2.pk, None)


def test_a_payroll_being_computed_cannot_be_locked_or_started_again(
    standards, hexi, applicant, shequ, jiedao, quju, quju2
):
    approve(applicant, shequ, jiedao, quju)
    with travel(M(2026, 11, 20)):
        run = payroll.payroll_run(actor=quju, district=hexi, month=M(2026, 11, 1))
        payroll.payroll_start(actor=quju, district=hexi, month=M(2026, 11, 1))  # queued, not yet run
        with pytest.raises(Conflict, match=payroll.ALREADY_RUNNING):
            payroll.payroll_start(actor=quju2, district=hexi, month=M(2026, 11, 1))
        with pytest.raises(Conflict, match=payroll.NOT_DRAFT):
            payroll.payroll_lock(actor=quju2, payroll=run)
    assert payroll.Payroll.objects.get().status == PayrollStatus.RUNNING
