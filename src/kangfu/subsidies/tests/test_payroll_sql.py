"""The payroll's set-based SQL names only tables the models have and compares only values their choices
define: a renamed table or a changed choice value breaks this test, not a month's payroll."""

import datetime as dt
import re

import pytest
from django.db import connection

from kangfu.people.models import CertificateStatus, IncomeStatus, VitalStatus
from kangfu.subsidies.models import (
    BankStatus,
    BenefitKind,
    GrantStatus,
    HoldRule,
    Kind,
    LineType,
    Payroll,
    PayrollStatus,
)
from kangfu.subsidies.services import payroll_sql

pytestmark = pytest.mark.django_db

MONTH = dt.date(2026, 11, 1)
CHOICES = (
    BankStatus,
    BenefitKind,
    CertificateStatus,
    GrantStatus,
    HoldRule,
    IncomeStatus,
    Kind,
    LineType,
    PayrollStatus,
    VitalStatus,
)
# A table is named after FROM, JOIN or INTO; a subquery's parenthesis is not a name.
TABLE = re.compile(r"\b(?:FROM|JOIN|INTO)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
LITERAL = re.compile(r"'([^']*)'")


@pytest.fixture
def statements(standards, hexi):
    """Every statement a run executes, in each of its shapes (with and without a district's own
    standards), with the parameters a run gives them."""
    scratch = Payroll.objects.create(district=hexi, month=MONTH)
    return payroll_sql.statements(payroll=scratch, district=hexi, month=MONTH, own_standards=False) + (
        payroll_sql.statements(payroll=scratch, district=hexi, month=MONTH, own_standards=True)
    )


def test_payroll_sql_names_only_tables_the_database_has(statements):
    existing = set(connection.introspection.table_names())

    named = {name for sql, _params in statements for name in TABLE.findall(sql)}

    assert named, "no table found: the pattern no longer reads the SQL"
    assert named <= existing, f"not tables: {sorted(named - existing)}"


def test_payroll_sql_compares_only_values_the_models_define(statements):
    defined = {choice.value for enum in CHOICES for choice in enum}

    quoted = {value for sql, _params in statements for value in LITERAL.findall(sql)} - {""}

    assert quoted, "no value found: the pattern no longer reads the SQL"
    assert quoted <= defined, f"not a choice of any model: {sorted(quoted - defined)}"


def test_every_payroll_statement_is_accepted_by_the_database(statements):
    # EXPLAIN plans a statement without running it: an unknown table or column fails here.
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(f"EXPLAIN {sql}", params)
            cursor.fetchall()


def test_the_tables_and_values_of_the_payroll_sql_are_the_models():
    from kangfu.subsidies.models import Grant, PayrollLine

    assert payroll_sql.T.grant == Grant._meta.db_table
    assert payroll_sql.T.payroll_line == PayrollLine._meta.db_table
    assert payroll_sql.T.active == GrantStatus.ACTIVE
    assert payroll_sql.T.locked == PayrollStatus.LOCKED
    assert payroll_sql.T.valid == CertificateStatus.VALID
    assert payroll_sql.T.tekun == IncomeStatus.TEKUN
