"""Whatever happens, month by month, what locked payrolls paid equals what the grant was entitled to."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kangfu.core.months import add_months
from kangfu.subsidies.models import (
    BankStatus,
    Grant,
    GrantPeriod,
    GrantStatus,
    PayrollLine,
    PayrollStatus,
    Standard,
)
from kangfu.subsidies.services import applications, facts, grants, payroll
from kangfu.subsidies.services import standards as standard_services

pytestmark = pytest.mark.django_db

START = dt.date(2026, 1, 1)
MONTHS = 8

operations = st.sampled_from(
    ["none", "none", "raise", "regrade", "suspend", "resume", "stop", "fail", "backdate_stop"]
)


def entitlement(grant: Grant, through: dt.date) -> Decimal:
    total = Decimal("0.00")
    for period in GrantPeriod.objects.filter(grant=grant, paid=True):
        month = period.from_month
        last = min(period.to_month or through, through)
        while month <= last:
            total += facts.standard_amount(
                kind=grant.kind, district=grant.district_id, grade=period.grade, month=month
            )
            month = add_months(month, 1)
    return total


def paid(grant: Grant) -> Decimal:
    lines = PayrollLine.objects.filter(grant=grant, payroll__status=PayrollStatus.LOCKED).exclude(
        bank_status=BankStatus.FAILED
    )
    return lines.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(operations, min_size=MONTHS, max_size=MONTHS), st.integers(min_value=0, max_value=3))
def test_paid_equals_entitled_over_any_sequence(
    standards, hexi, applicant, shequ, jiedao, quju, ops, late_months
):
    with transaction.atomic():
        with time_machine.travel(dt.datetime(2026, 1, 5, tzinfo=dt.UTC), tick=False):
            app = applications.application_submit(
                actor=None,
                applicant=applications.Applicant(
                    name=applicant.name,
                    id_number=applicant.id_number,
                    phone="13912345678",
                    hukou_community=applicant.community_id,
                ),
                data=applications.ApplicationData(
                    living=True, care=True, bank_name="银行", bank_account="6222020000001234567"
                ),
            )
        approved_in = add_months(START, late_months)
        with time_machine.travel(
            dt.datetime(approved_in.year, approved_in.month, 3, tzinfo=dt.UTC), tick=False
        ):
            for actor in (shequ, jiedao, quju):
                app = applications.application_decide(actor=actor, application=app, decision="pass")
        amount = Decimal("300.00")
        for index, op in enumerate(ops):
            month = add_months(START, index)
            if month < approved_in:
                continue
            with time_machine.travel(dt.datetime(month.year, month.month, 10, tzinfo=dt.UTC), tick=False):
                for grant in Grant.objects.filter(person=applicant):
                    if op == "raise" and grant.kind == "living":
                        amount += Decimal("10.00")
                        current = Standard.objects.filter(
                            kind="living", grade_min=1, valid_to__isnull=True
                        ).first()
                        if current.valid_from < add_months(month, -1):
                            current.valid_to = add_months(month, -2)
                            current.save()
                            standard_services.standard_save(
                                actor=None,
                                standard=None,
                                region=current.region,
                                kind="living",
                                grade_min=1,
                                grade_max=2,
                                amount=amount,
                                valid_from=add_months(month, -1),
                            )
                    elif op == "regrade" and grant.status == GrantStatus.ACTIVE:
                        grants.grant_regrade(
                            actor=None,
                            grant=grant,
                            from_month=max(grant.start_month, add_months(month, -1)),
                            grade=3,
                            category=4,
                            reason="换证降级",
                        )
                    elif op == "suspend" and grant.status == GrantStatus.ACTIVE:
                        grants.grant_suspend(actor=None, grant=grant, from_month=month, reason="暂停核查")
                    elif op == "resume" and grant.status == GrantStatus.SUSPENDED:
                        grants.grant_resume(actor=None, grant=grant, from_month=month, reason="核查通过")
                    elif op in ("stop", "backdate_stop") and grant.status != GrantStatus.STOPPED:
                        stop_from = max(
                            grant.start_month, add_months(month, -2 if op == "backdate_stop" else 0)
                        )
                        grants.grant_stop(
                            actor=None, grant=grant, from_month=stop_from, stop_reason="withdrawn"
                        )
                run = payroll.payroll_run(actor=None, district=hexi, month=month)
                assert run.total == (run.lines.aggregate(total=Sum("amount"))["total"] or 0)
                payroll.payroll_lock(actor=None, payroll=run)
                if op == "fail" and run.lines.exists():
                    PayrollLine.objects.filter(payroll=run).update(bank_status=BankStatus.FAILED)
                    for line in run.lines.all():
                        Grant.objects.filter(pk=line.grant_id).update(
                            recalc_from=min(line.month_for, line.grant.recalc_from or line.month_for)
                        )
        # One more month settles whatever the last operation changed or failed.
        final = add_months(START, MONTHS)
        with time_machine.travel(dt.datetime(final.year, final.month, 10, tzinfo=dt.UTC), tick=False):
            payroll.payroll_lock(
                actor=None, payroll=payroll.payroll_run(actor=None, district=hexi, month=final)
            )
            for grant in Grant.objects.filter(person=applicant):
                assert paid(grant) == entitlement(grant, final), grant.kind
        transaction.set_rollback(True)
