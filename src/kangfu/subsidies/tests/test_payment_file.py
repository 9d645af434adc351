"""The bank's payment file: in the XLSX amounts are numbers shown with two decimals and a last row
gives the total; the CSV stays as the banks read it."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from openpyxl import load_workbook

from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.subsidies.services import payroll
from kangfu.subsidies.tests.conftest import JIUJIANGLU
from kangfu.subsidies.tests.factories import approve

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def locked(standards, hexi, applicant, shequ, jiedao, quju, quju2):
    other = PersonFactory(name="吴第二", community_code=JIUJIANGLU, born=dt.date(1970, 3, 3))
    CertificateFactory(
        person=other, digits="43", issued_on=dt.date(2020, 1, 1), expires_on=dt.date(2030, 1, 1)
    )
    IncomePeriodFactory(person=other, start_date=dt.date(2019, 1, 1))
    approve(applicant, shequ, jiedao, quju, applied_on=dt.date(2026, 11, 2))  # 300 + 200
    approve(other, shequ, jiedao, quju, applied_on=dt.date(2026, 11, 2))  # 160 (grade 3: no care)
    run = payroll.payroll_run(actor=quju, district=hexi, month=dt.date(2026, 11, 1))
    return payroll.payroll_lock(actor=quju2, payroll=run)


def test_the_xlsx_has_numeric_amounts_in_a_two_decimal_format_and_a_total_row(locked, quju2):
    content, _type = payroll.payment_file(actor=quju2, payroll=locked, fmt="xlsx")
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows())
    amount = [c.value for c in rows[0]].index("金额")
    body, last = rows[1:-1], rows[-1]
    assert [r[amount].value for r in body] == [500, 160]
    assert all(isinstance(r[amount].value, int | float) for r in body)
    assert {r[amount].number_format for r in (*body, last)} == {"0.00"}
    assert last[amount].value == 660
    assert "合计" in str(last[0].value)


def test_the_csv_keeps_amounts_as_text_with_two_decimals_and_no_total_row(locked, quju2):
    content, _type = payroll.payment_file(actor=quju2, payroll=locked, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [r["金额"] for r in rows] == ["500.00", "160.00"]
    assert sum(Decimal(r["金额"]) for r in rows) == Decimal("660.00")
