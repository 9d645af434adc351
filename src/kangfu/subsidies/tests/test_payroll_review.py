"""The reviewer sees a payroll's lines before locking it: paged, filtered by street and by name or
ID number, with the totals of what is shown."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction, AuditEntry
from kangfu.subsidies.models import Grant, LineType, PayrollLine
from kangfu.subsidies.services import payroll
from kangfu.subsidies.tests.factories import approve

pytestmark = pytest.mark.django_db
OTHER_STREET = "120103002000"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def draft(standards, hexi, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju, applied_on=dt.date(2026, 11, 2))
    return payroll.payroll_run(actor=quju, district=hexi, month=dt.date(2026, 11, 1))


def add_lines(run, n, *, street=OTHER_STREET, amount="10.00"):
    """`n` more lines of the one grant, in another street, so that a page has many rows."""
    grant = Grant.objects.filter(kind="care").first()
    PayrollLine.objects.bulk_create(
        PayrollLine(
            payroll=run,
            grant=grant,
            person=grant.person,
            street_id=street,
            kind=grant.kind,
            month_for=dt.date(2026, 11, 1),
            amount=Decimal(amount),
            line_type=LineType.ARREARS,
        )
        for _ in range(n)
    )


def rows(response) -> int:
    return response.content.decode().count("<tr>") - 1  # the header row


def test_the_reviewer_sees_each_line_with_the_id_masked_before_locking(
    client, login, draft, applicant, quju2
):
    login(quju2)
    text = client.get(f"/subsidies/payroll/{draft.pk}/").content.decode()
    assert applicant.name in text
    assert mask_id_number(applicant.id_number) in text and applicant.id_number not in text
    assert "所列明细 <strong>2</strong> 条，合计 <strong>500.00</strong> 元" in text
    assert "审核锁定" in text


def test_the_lines_are_paged_fifty_a_page(client, login, draft, quju2):
    add_lines(draft, 58)
    login(quju2)
    first = client.get(
        f"/subsidies/payroll/{draft.pk}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="payroll-lines"
    )
    second = client.get(
        f"/subsidies/payroll/{draft.pk}/", {"page": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="payroll-lines"
    )
    assert (rows(first), rows(second)) == (50, 10)
    assert "共 60 条" in first.content.decode()


def test_a_street_filter_narrows_the_lines_and_their_total(client, login, draft, quju2):
    add_lines(draft, 3)
    login(quju2)
    response = client.get(
        f"/subsidies/payroll/{draft.pk}/",
        {"street": OTHER_STREET},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="payroll-lines",
    )
    assert rows(response) == 3
    assert "所列明细 <strong>3</strong> 条，合计 <strong>30.00</strong> 元" in response.content.decode()


def test_a_search_by_id_number_finds_the_persons_lines_and_is_audited(client, login, draft, applicant, quju2):
    login(quju2)
    before = AuditEntry.objects.filter(action=AuditAction.VIEW).count()
    response = client.get(
        f"/subsidies/payroll/{draft.pk}/",
        {"q": applicant.id_number},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="payroll-lines",
    )
    assert rows(response) == 2
    assert "<html" not in response.content.decode()
    assert AuditEntry.objects.filter(action=AuditAction.VIEW).count() == before + 1
    nobody = client.get(
        f"/subsidies/payroll/{draft.pk}/", {"q": "李"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="payroll-lines"
    )
    assert "没有符合条件的发放明细" in nobody.content.decode()


def test_a_street_that_is_not_offered_is_refused_with_a_message_not_an_error(client, login, draft, quju2):
    login(quju2)
    response = client.get(f"/subsidies/payroll/{draft.pk}/", {"street": "bogus"})
    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode()


def test_the_page_costs_the_same_queries_however_many_lines(client, login, draft, quju2):
    login(quju2)
    url = f"/subsidies/payroll/{draft.pk}/"
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    add_lines(draft, 40)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many)


@pytest.mark.parametrize(
    "query",
    [{"page": "abc"}, {"page": "999"}, {"page": "-1"}, {"q": "张" * 3000}, {"kind": "x", "line_type": "y"}],
)
def test_odd_paging_or_filter_values_answer_a_page_not_an_error(client, login, draft, quju2, query):
    login(quju2)
    for htmx in ({}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "payroll-lines"}):
        assert client.get(f"/subsidies/payroll/{draft.pk}/", query, **htmx).status_code < 500
