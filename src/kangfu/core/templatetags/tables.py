"""The body of a django-tables2 table, drawn in Python rather than cell by cell in the template.

The shared table template (core/partials/table.html) made, for every cell, the column's `td`
attributes and header again through the template engine: on a page of 200 contracts, 1,400 cells,
that was most of the page's time. Here a column's opening tag is made once per page (once per cell only
for a column whose `td` attributes depend on the row), and each cell is rendered as `{{ cell }}` would
render it, so the HTML is the same.

A plain column (no `render_*` method, no per-row attributes, at most a link to a record's page: most
of every list) is read straight from the record (`_plain`), as django-tables2 reads it but without
building its accessor, its field lookup and its call arguments again for every cell: they were half a
fifty-row list's time (bench/pages.py). core/tests/test_table_rows.py holds the two paths to the
same HTML on every list page.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import django_tables2 as tables
from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.base import render_value_in_context
from django.template.defaultfilters import date
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django_tables2.utils import AttributeDict

register = template.Library()

OPENING = '<td {} data-label="{}">'
SLOW = object()  # a plain cell that must be read the general way after all
STAND_IN = 987_654_321_012_345  # no table's key: where reverse() puts it, a row's own goes
# The template code django-tables2's DateColumn is given: `{{ value|date:"Y-m"|default:default }}`.
DATE_CODE = re.compile(r'\{\{ value\|date:"([^"]*)"\|default:default \}\}')


def _opening(column) -> SafeString:
    return format_html(OPENING, column.attrs["td"].as_html(), column.header)


def _per_row(column) -> bool:
    return any(callable(value) for value in column.column.attrs.get("td", {}).values())


def _follow(current, bits):
    """django-tables2's `Accessor.resolve` for model records: attributes, callables called (none that
    alters data), stopping at None. SLOW where it would have looked further (a dict, an index)."""
    for bit in bits:
        if isinstance(current, dict | list | tuple):
            return SLOW
        try:
            current = getattr(current, bit)
        except AttributeError:
            return SLOW
        if callable(current):
            if getattr(current, "alters_data", False) or getattr(current, "do_not_call_in_templates", False):
                return SLOW
            current = current()
        if current is None:
            break
    return current


def _date_format(column) -> str | None:
    """The format of a DateColumn, from the template code it was given (`{{ value|date:"Y-m"|…}}`)."""
    found = DATE_CODE.fullmatch(column.template_code or "")
    return found[1] if found else None


def _href(link) -> Callable[[object], object] | None:
    """A maker of a linked cell's `<a>` attributes from its record, as django-tables2's LinkTransform
    makes them, for the one form the lists use, `linkify=(view name, {"pk": A(…)})`; None for any
    other. The attributes are made once per page around a stand-in key that the row's own then
    replaces: `reverse()` for every row was most of a fifty-row list's links."""
    arguments = link.reverse_args
    if link.url is not None or link.accessor is not None or set(arguments) != {"viewname", "kwargs"}:
        return None
    viewname, kwargs = arguments["viewname"], arguments["kwargs"]
    if not isinstance(viewname, str) or len(kwargs) != 1:
        return None
    ((name, accessor),) = kwargs.items()
    if not isinstance(accessor, tables.A) or accessor.SEPARATOR != "__":
        return None
    if any(callable(value) for value in (link.attrs or {}).values()):
        return None
    bits = tuple(accessor.bits)
    address = reverse(viewname, kwargs={name: STAND_IN})
    before, after = AttributeDict({**(link.attrs or {}), "href": address}).as_html().split(str(STAND_IN))

    def href(record):
        key = _follow(record, bits)
        if type(key) is not int:
            return SLOW
        return SafeString(f"{before}{key}{after}")  # an int between two escaped halves

    return href


def _plain(bound_column) -> Callable[[object], object] | None:
    """A reader of the column's cell from a record, or None where the column is not plain."""
    column = bound_column.column
    date_format = _date_format(column) if type(column) is tables.DateColumn else None
    plain = (
        (type(column) is tables.Column or date_format is not None)
        and bound_column.render == column.render
        and not _per_row(bound_column)
    )
    if not plain:
        return None
    href = _href(bound_column.link) if bound_column.link else None
    if bound_column.link and href is None:
        return None
    accessor = tables.A(bound_column.accessor)
    bits = tuple(accessor.bits)
    if not bits or accessor.SEPARATOR != "__":
        return None
    head, last = bits[:-1], bits[-1]
    empty, default = column.empty_values, bound_column.default
    shows_choice: dict[type, bool] = {}

    def read(record):
        if not isinstance(record, models.Model):
            return SLOW
        kind = type(record)
        if kind not in shows_choice:
            # As django-tables2 decides it: the last field the accessor names has choices.
            try:
                field = accessor.get_field(record)
            except FieldDoesNotExist:
                field = None
            shows_choice[kind] = bool(getattr(field, "choices", ()))
        owner = _follow(record, head) if head else record
        if owner is SLOW:
            return SLOW
        display = getattr(owner, f"get_{last}_display", None) if shows_choice[kind] else None
        if isinstance(owner, models.Model) and display is not None:
            value = display()
        elif head and owner is None:
            value = None
        else:
            value = _follow(owner, (last,))
            if value is SLOW:
                return SLOW
        if value in empty:
            return default  # unlinked, as django-tables2 leaves an empty cell
        if date_format is not None:
            # As the column's template `{{ value|date:"…"|default:default }}` renders it.
            shown = date(value, date_format)
            if not shown:
                return SLOW
            value = escape(shown)
        if href is None:
            return value
        attributes = href(record)
        if attributes is SLOW:
            return SLOW
        return format_html("<a {}>{}</a>", attributes, value)

    return read


@register.simple_tag(takes_context=True)
def table_rows(context, table) -> SafeString:
    """Every row of the page shown, `<tr>` by `<tr>`; empty when there is none."""
    columns = list(table.columns)
    fixed = {c.name: _opening(c) for c in columns if not _per_row(c)}
    readers = {c.name: _plain(c) for c in columns}
    rows = []
    for row in table.paginated_rows:
        cells = []
        for column in columns:
            read = readers[column.name]
            cell = read(row.record) if read is not None else SLOW
            if cell is SLOW:
                cell = row.get_cell(column.name)
                # As BoundRow.items() does: attributes computed per row read these.
                column.current_value, column.current_record = cell, row.record
            opening = fixed.get(column.name) or _opening(column)
            cells.append(f"{opening}{render_value_in_context(cell, context)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    # Each part is escaped above: the attributes and header by format_html, the cell as {{ cell }} is.
    return mark_safe("\n    ".join(rows))  # noqa: S308
