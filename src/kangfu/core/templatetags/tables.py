"""The body of a django-tables2 table, drawn in Python rather than cell by cell in the template.

The shared table template (core/partials/table.html) made, for every cell, the column's `td`
attributes and header again through the template engine: on a page of 200 contracts, 1,400 cells,
that was most of the page's time. Here a column's opening tag is made once per page (once per cell only
for a column whose `td` attributes depend on the row), and each cell is rendered as `{{ cell }}` would
render it, so the HTML is the same.
"""

from __future__ import annotations

from django import template
from django.template.base import render_value_in_context
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

OPENING = '<td {} data-label="{}">'


def _opening(column) -> SafeString:
    return format_html(OPENING, column.attrs["td"].as_html(), column.header)


def _per_row(column) -> bool:
    return any(callable(value) for value in column.column.attrs.get("td", {}).values())


@register.simple_tag(takes_context=True)
def table_rows(context, table) -> SafeString:
    """Every row of the page shown, `<tr>` by `<tr>`; empty when there is none."""
    columns = list(table.columns)
    fixed = {c.name: _opening(c) for c in columns if not _per_row(c)}
    rows = []
    for row in table.paginated_rows:
        cells = []
        for column, cell in row.items():
            opening = fixed.get(column.name) or _opening(column)
            cells.append(f"{opening}{render_value_in_context(cell, context)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    # Each part is escaped above: the attributes and header by format_html, the cell as {{ cell }} is.
    return mark_safe("\n    ".join(rows))  # noqa: S308
