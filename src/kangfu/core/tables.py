from __future__ import annotations

import functools
from typing import Any

import django_tables2 as tables
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils.html import format_html, format_html_join

from kangfu.core.audit import HIDDEN
from kangfu.core.fields import EncryptedTextField
from kangfu.core.models import AuditEntry

CHANGED = "已修改"
EMPTY = "（空）"


def _model(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def object_kind(object_type: str) -> str:
    """What kind of record an entry is about, as its model calls itself (人员, 精康档案), or the
    stored label where no model has it (a record of a kind since removed)."""
    model = _model(object_type)
    return str(model._meta.verbose_name) if model is not None else object_type


def _shown(field, value: Any) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, dict):
        return "；".join(f"{k}：{_shown(None, v)}" for k, v in value.items())
    if isinstance(value, list):
        return "、".join(_shown(field, v) for v in value)
    return str(value)


def change_lines(object_type: str, changes: dict[str, Any]) -> list[tuple[str, str]]:
    """(field label, what changed) for each entry of `changes`: `[old, new]` as "old → new", a value
    set on creation as itself; a sensitive field (an encrypted column, or one the service recorded
    without values) only as changed, whatever the row holds."""
    model = _model(object_type)
    lines = []
    for key, value in changes.items():
        field = None
        if model is not None:
            try:
                field = model._meta.get_field(key)
            except FieldDoesNotExist:
                field = None
        label = str(getattr(field, "verbose_name", "") or key)
        if value == HIDDEN or isinstance(field, EncryptedTextField):
            text = CHANGED
        elif isinstance(value, list) and len(value) == 2 and not (field is not None and field.many_to_many):
            text = f"{_shown(field, value[0])} → {_shown(field, value[1])}"
        else:
            text = _shown(field, value)
        lines.append((label, text))
    return lines


class AuditTable(tables.Table):
    at = tables.DateTimeColumn(verbose_name="时间", format="Y-m-d H:i:s")
    actor_username = tables.Column(verbose_name="操作账号")
    action = tables.Column(verbose_name="操作", accessor="get_action_display")
    summary = tables.Column(verbose_name="摘要")
    object_type = tables.Column(verbose_name="对象")
    object_id = tables.Column(verbose_name="编号")
    person_id = tables.Column(verbose_name="人员编号")
    ip = tables.Column(verbose_name="来源地址")
    channel = tables.Column(verbose_name="渠道")
    changes = tables.Column(verbose_name="变更内容", empty_values=({}, None, ""))

    class Meta:
        model = AuditEntry
        fields = ()
        sequence = (
            "at",
            "actor_username",
            "action",
            "summary",
            "object_type",
            "object_id",
            "person_id",
            "ip",
            "channel",
            "changes",
        )
        orderable = False
        attrs = {"class": "table table-compact"}
        empty_text = "没有符合条件的记录。"

    def render_object_type(self, value):
        return object_kind(value)

    def render_changes(self, value, record):
        if not isinstance(value, dict):
            return str(value)
        lines = change_lines(record.object_type, value)
        return format_html(
            '<ul class="plain changes">{}</ul>',
            format_html_join("", '<li><span class="muted">{}</span>：{}</li>', lines),
        )


def remember_cell_signatures() -> None:
    """django-tables2 asks `inspect.signature` of a column's `render_*` method or accessor again for
    every cell it draws (`utils.call_with_appropriate`): a tenth of a list page's time on the profile
    (bench/pages.py). A function's parameters do not change while the process runs, so they are
    read once per function. What is not hashable (rare: a callable object) is asked each time."""
    from django_tables2 import utils

    if getattr(utils.signature, "remembered", False):
        return
    asked = utils.signature
    known: dict[tuple[Any, bool], tuple[tuple[str, ...], str | None]] = {}

    def signature(fn):
        # A bound method is known by its function (one entry for every row's instance); bound or not
        # matters, since the bound one's signature leaves out `self`.
        key = (getattr(fn, "__func__", fn), hasattr(fn, "__func__"))
        try:
            return known[key]
        except KeyError:
            if len(known) > 10_000:  # callables made afresh for each table (closures) are not kept
                known.clear()
            known[key] = found = asked(fn)
            return found
        except TypeError:
            return asked(fn)

    signature.remembered = True  # type: ignore[attr-defined]
    utils.signature = signature


def remember_column_templates() -> None:
    """django-tables2's TemplateColumn, and so every DateColumn, compiles its template code again for
    every cell (`Template(self.template_code)` in its `render`): on a list of fifty grants with two
    dates that was a hundred compilations, a quarter of the page's time (bench/pages.py). A compiled
    Django template keeps no state between renders, so each code is compiled once per process."""
    from django_tables2.columns import templatecolumn

    if getattr(templatecolumn.Template, "remembered", False):
        return
    compile_template = templatecolumn.Template

    @functools.lru_cache(maxsize=512)
    def compiled(template_code):
        return compile_template(template_code)

    compiled.remembered = True  # type: ignore[attr-defined]
    templatecolumn.Template = compiled
