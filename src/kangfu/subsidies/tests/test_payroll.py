import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum

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
from kangfu.subsidies.services import applications, grants, payroll
from kangfu.subsidies.services import standards as standard_services

pytestmark = pytest.mark.django_db

M = dt.date


def travel(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC), tick=False)


def approve(applicant, shequ, jiedao, quju, *, applied_on=None, living=True, care=True):
    app = applications.application_submit(
        actor=None,
        applicant=applications.Applicant(
            name=applicant.name,
            id_number=applicant.id_number,
            phone="13912345678",
            hukou_community=applicant.community_id,
        ),
        data=applications.ApplicationData(
            living=living, care=care, bank_name="天津农商银行", bank_account="6222020000001234567"
        ),
        applied_on=applied_on or M(2026, 9, 10),
    )
    for actor in (shequ, jiedao, quju):
        app = applications.application_decide(actor=actor, application=app, decision="pass", opinion="同意")
    return app


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
