"""core.widgets draws the select and the plain inputs as Django's own templates draw them, whatever the
values: escaped where they must be, left alone where already safe, localized only where `{{ }}` is."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from kangfu.core import widgets

DJANGOS = DjangoTemplates()

CHOICES = [
    ("", "全部"),
    ("a&b", '<b>"甲"</b>'),
    (3, gettext_lazy("Yes")),
    (Decimal("1.5"), Decimal("1234.5")),
    ("分组", [("x", "组内一"), ("y", mark_safe("<i>组内二</i>"))]),
]


def _cases():
    yield forms.Select(choices=CHOICES), "a&b", None
    yield forms.Select(choices=CHOICES, attrs={"class": "wide", "data-x": '"q"'}), "3", {"required": True}
    yield forms.SelectMultiple(choices=CHOICES), ["x", "3"], {"disabled": False}
    yield forms.NullBooleanSelect(), True, None
    yield forms.TextInput(attrs={"placeholder": "姓名<开头>"}), "张三 & <李四>", {"autofocus": True}
    yield forms.TextInput(), None, None
    yield forms.TextInput(), mark_safe("<safe>"), None
    yield forms.NumberInput(attrs={"step": Decimal("0.01")}), Decimal("1234.50"), None
    yield forms.DateInput(), dt.date(2026, 12, 4), None
    yield forms.HiddenInput(), 0, None
    yield forms.CheckboxInput(), True, {"aria-describedby": "help"}
    yield forms.CheckboxInput(), False, None
    yield forms.EmailInput(), "a@example.org", None


@pytest.mark.parametrize(("widget", "value", "attrs"), list(_cases()))
def test_a_widget_drawn_in_python_is_the_html_djangos_templates_draw(widget, value, attrs):
    context = widget.get_context("field", value, attrs)
    quick = widget.render("field", value, attrs, renderer=widgets.Renderer())
    assert quick == widget.render("field", value, attrs, renderer=DJANGOS)
    # …and it was drawn here, not handed on to the template engine.
    drawn = (
        widgets._select(context["widget"])
        if isinstance(widget, forms.Select)
        else widgets._input(context["widget"])
    )
    assert drawn == quick


def test_a_widget_it_does_not_know_is_drawn_by_djangos_templates():
    widget = forms.RadioSelect(choices=[("a", "甲"), ("b", "乙")])
    assert widget.render("r", "a", renderer=widgets.Renderer()) == widget.render("r", "a", renderer=DJANGOS)
