"""The list tables of the programme's pages."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from kangfu.programme import selectors
from kangfu.programme.models import Contract, Fund, PaymentRequest, Visit

SHORT = {
    "people": "入组",
    "sessions": "场次",
    "people_times": "人次",
    "follow_ups": "随访",
    "staff_trained": "培训",
}


class MoneyColumn(tables.Column):
    """Yuan to the fen, with thousands separators, right-aligned."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "num"}, "th": {"class": "num"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return f"{value:,.2f}"


class FundTable(tables.Table):
    name = tables.Column(verbose_name="资金", linkify=("programme:fund", {"pk": tables.A("pk")}))
    year = tables.Column(verbose_name="年度")
    region = tables.Column(verbose_name="所属区划", accessor="region__name")
    source = tables.Column(verbose_name="来源")
    amount = MoneyColumn(verbose_name="到位")
    allocated = MoneyColumn(verbose_name="已分配")
    spent = MoneyColumn(verbose_name="已支付")
    committed = MoneyColumn(verbose_name="已承诺未付", empty_values=())
    remaining = MoneyColumn(verbose_name="未分配", empty_values=())

    class Meta:
        model = Fund
        fields = ()
        sequence = (
            "name",
            "year",
            "region",
            "source",
            "amount",
            "allocated",
            "spent",
            "committed",
            "remaining",
        )
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有项目资金。"

    def render_region(self, record):
        return record.region.label

    def render_committed(self, record):
        return f"{record.committed:,.2f}"

    def render_remaining(self, record):
        return f"{record.remaining:,.2f}"


class ContractTable(tables.Table):
    number = tables.Column(verbose_name="合同编号", linkify=("programme:contract", {"pk": tables.A("pk")}))
    title = tables.Column(verbose_name="项目名称")
    institution = tables.Column(verbose_name="承接机构", accessor="institution__name")
    period = tables.Column(verbose_name="服务期", accessor="starts_on", empty_values=())
    amount = MoneyColumn(verbose_name="合同金额")
    paid = MoneyColumn(verbose_name="已支付")
    progress = tables.Column(verbose_name="完成/合同服务量", empty_values=())

    class Meta:
        model = Contract
        fields = ()
        sequence = ("number", "title", "institution", "period", "amount", "paid", "progress")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有购买服务合同。"

    # Set by the view for the rows of the page shown (selectors.delivery_totals).
    totals: dict = {}

    def render_period(self, record):
        return f"{record.starts_on:%Y-%m-%d} 至 {record.ends_on:%Y-%m-%d}"

    def render_progress(self, record):
        totals = self.totals.get(record.pk)
        if totals is None:
            return "—"
        # Fixed labels and integers only: joined as text, without an escape per part (a page may show
        # every contract of a city).
        parts = [
            f'<span class="{"" if totals[v] >= want else "muted"}">{SHORT[v]} {int(totals[v])}/{int(want)}</span>'
            for v in selectors.VOLUMES
            if (want := getattr(record, v))
        ]
        return mark_safe(" ".join(parts)) if parts else "—"  # noqa: S308


class PaymentTable(tables.Table):
    id = tables.Column(verbose_name="申请", linkify=("programme:payment", {"pk": tables.A("pk")}))
    contract = tables.Column(verbose_name="合同", accessor="contract__number")
    institution = tables.Column(verbose_name="承接机构", accessor="contract__institution__name")
    milestone = tables.Column(verbose_name="付款节点", accessor="milestone__name")
    amount = MoneyColumn(verbose_name="金额")
    requested_at = tables.DateTimeColumn(verbose_name="申请时间", format="Y-m-d H:i")
    requested_by = tables.Column(verbose_name="申请人")
    status = tables.Column(verbose_name="状态")

    class Meta:
        model = PaymentRequest
        fields = ()
        sequence = (
            "id",
            "contract",
            "institution",
            "milestone",
            "amount",
            "requested_at",
            "requested_by",
            "status",
        )
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有付款申请。"

    def render_id(self, value):
        return f"#{value}"

    def render_status(self, record):
        return format_html(
            '<span class="status status-{}">{}</span>', record.status, record.get_status_display()
        )


class VisitTable(tables.Table):
    visit = tables.Column(
        verbose_name="督导",
        accessor="pk",
        linkify=("programme:visit", {"pk": tables.A("pk")}),
        empty_values=(),
    )
    institution = tables.Column(verbose_name="被督导机构", accessor="institution__name")
    visited_on = tables.DateColumn(verbose_name="督导日期", format="Y-m-d")
    checklist = tables.Column(verbose_name="检查表", accessor="version", empty_values=())
    score = tables.Column(verbose_name="得分", attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    findings = tables.Column(verbose_name="问题（未核验）", accessor="n_findings", empty_values=())

    class Meta:
        model = Visit
        fields = ()
        sequence = ("visit", "institution", "visited_on", "checklist", "score", "findings")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有督导记录。"

    def render_visit(self, record):
        return f"{record.year}年第{record.quarter}季度"

    def render_findings(self, record):
        return format_html(
            '{} <span class="{}">（{}）</span>',
            record.n_findings,
            "danger-text" if record.n_open else "muted",
            record.n_open,
        )
