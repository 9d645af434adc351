"""The form renderer (settings.FORM_RENDERER): Django's, with the commonest widgets drawn in Python.

Django draws every widget through its template engine: a `<select>` is a template that includes one
template per option and another for each element's attributes. The filter bar above every list (four
to eight selects) cost 1–2 ms of a page that way, about a twentieth of the server's time under load
(bench/load.py). Here a select and the plain `<input>`s are made as those templates make them: the
same escaping (`{{ }}`'s, and `stringformat:'s'`'s for values), the same whitespace, so the HTML is
byte for byte Django's (core/tests/test_widgets.py compares them over awkward values, and
core/tests/test_table_rows.py on every form of the demo's pages). Any other
widget, a select whose options draw with another template, or anything not a widget's own template
goes to Django's renderer as before.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe

WIDGETS = "django/forms/widgets/"
SELECT = WIDGETS + "select.html"
OPTION = WIDGETS + "select_option.html"
# Django's templates that are nothing but `{% include "django/forms/widgets/input.html" %}`.
INPUTS = frozenset(
    WIDGETS + f"{kind}.html"
    for kind in (
        "input",
        "text",
        "search",
        "number",
        "email",
        "url",
        "tel",
        "password",
        "hidden",
        "date",
        "datetime",
        "time",
        "checkbox",
    )
)
_CONTEXT = Context(autoescape=True)  # as a form's widgets render: escaped, localized by the settings


def _shown(value) -> str:
    """`{{ value }}`."""
    return render_value_in_context(value, _CONTEXT)


def _formatted(value) -> str:
    """`{{ value|stringformat:'s' }}`: no localization; escaped unless already safe."""
    text = str(value)
    return conditional_escape(mark_safe(text) if isinstance(value, SafeData) else text)  # noqa: S308


def _attributes(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    parts = []
    for name, value in attrs.items():
        if value is not False:
            parts.append(f" {_shown(name)}" if value is True else f' {_shown(name)}="{_formatted(value)}"')
    return "".join(parts)


def _input(widget: dict) -> str:
    value = f' value="{_formatted(widget["value"])}"' if widget["value"] is not None else ""
    return (
        f'<input type="{_shown(widget["type"])}" name="{_shown(widget["name"])}"{value}'
        f"{_attributes(widget['attrs'])}>"
    )


def _select(widget: dict) -> str | None:
    parts = [f'<select name="{_shown(widget["name"])}"{_attributes(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_shown(group_name)}">')
        for option in group_choices:
            if option.get("template_name") != OPTION:
                return None
            parts.append(
                f'\n  <option value="{_formatted(option["value"])}"{_attributes(option["attrs"])}>'
                f"{_shown(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class Renderer(DjangoTemplates):
    """Draws a select or a plain input itself when Django's own template for it is asked for."""

    def render(self, template_name, context, request=None):
        widget = context.get("widget") if isinstance(context, dict) else None
        if isinstance(widget, dict) and widget.get("template_name") == template_name:
            drawn = None
            if template_name == SELECT:
                drawn = _select(widget)
            elif template_name in INPUTS:
                drawn = _input(widget)
            if drawn is not None:
                return mark_safe(drawn)  # noqa: S308 - every value is escaped above
        return super().render(template_name, context, request)
