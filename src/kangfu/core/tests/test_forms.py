"""The shared month field: what a clerk types or the month picker posts becomes the month's first day."""

import datetime as dt

import pytest
from django import forms

from kangfu.core.forms import BAD_MONTH, MonthField, localise


@localise
class PayrollMonthForm(forms.Form):
    month = MonthField(label="月份")


@pytest.mark.parametrize(
    "posted", ["2026-11", "2026-11-01", "2026-11-30", " 2026-11 ", "2026/11", "202611", "2026年11月"]
)
def test_a_month_is_read_from_the_picker_or_a_full_date_as_its_first_day(posted):
    form = PayrollMonthForm({"month": posted})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["month"] == dt.date(2026, 11, 1)


@pytest.mark.parametrize("posted", ["2026-13", "11/2026", "下个月", "2026-02-30x"])
def test_a_month_that_cannot_be_read_gets_a_chinese_message(posted):
    form = PayrollMonthForm({"month": posted})
    assert not form.is_valid()
    assert form.errors["month"] == [BAD_MONTH]


def test_the_field_renders_a_month_picker_showing_year_and_month():
    html = str(PayrollMonthForm(initial={"month": dt.date(2026, 11, 1)})["month"])
    assert 'type="month"' in html and 'value="2026-11"' in html


def test_a_full_date_posted_back_is_shown_as_its_month():
    html = str(PayrollMonthForm({"month": "2026-11-05", "other": "x"})["month"])
    assert 'value="2026-11"' in html
