"""The matching worklist as a table: every code shown by its Chinese label."""

from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html

from kangfu.matching.models import Item, ItemStatus
from kangfu.matching.rules import RULE_NAMES

LOW_CONFIDENCE = {"low": "待核实身份", "multi": "多人符合，待确认"}


class ItemTable(tables.Table):
    pick = tables.Column(verbose_name="勾选", empty_values=(), accessor="pk")
    due_date = tables.DateColumn(verbose_name="期限", format="m-d")
    person = tables.Column(
        verbose_name="姓名", accessor="person__name", linkify=("matching:item", {"pk": tables.A("pk")})
    )
    street = tables.Column(verbose_name="街道", accessor="street__name")
    rule = tables.Column(verbose_name="规则")
    direction = tables.Column(verbose_name="方向", accessor="get_direction_display")
    explanation = tables.Column(verbose_name="说明")
    amount_at_stake = tables.Column(
        verbose_name="涉及金额", attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    confidence = tables.Column(verbose_name="匹配", empty_values=())
    status = tables.Column(verbose_name="状态", accessor="get_status_display")

    class Meta:
        model = Item
        fields = ()
        sequence = (
            "pick",
            "due_date",
            "person",
            "street",
            "rule",
            "direction",
            "explanation",
            "amount_at_stake",
            "confidence",
            "status",
        )
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有疑点。"

    def render_pick(self, record):
        # An open item only, with the version the page showed: changed meanwhile, it is refused.
        if record.status != ItemStatus.OPEN:
            return ""
        return format_html(
            '<input type="checkbox" name="pick" value="{}:{}" form="bulk-form" aria-label="勾选 {}">',
            record.pk,
            record.version,
            record.person.name,
        )

    def render_due_date(self, record, value):
        late = record.status == ItemStatus.OPEN and value < timezone.localdate()
        return (
            format_html('<span class="danger-text">{}</span>', f"{value:%m-%d}") if late else f"{value:%m-%d}"
        )

    def render_rule(self, value):
        return RULE_NAMES.get(value, value)

    def render_explanation(self, value):
        return value if len(value) <= 60 else value[:59] + "…"

    def render_confidence(self, record):
        label = LOW_CONFIDENCE.get(record.confidence)
        return format_html('<span class="status status-returned">{}</span>', label) if label else ""
