"""The list tables of 两项补贴: applications, grants, appeals and payrolls."""

from __future__ import annotations

import datetime as dt

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html

from kangfu.core.ids import mask_id_number
from kangfu.subsidies.models import (
    Appeal,
    Application,
    Grant,
    Payroll,
    PayrollLine,
    PayrollSource,
    PayrollStatus,
)
from kangfu.subsidies.services.payroll import payroll_busy


class ApplicationTable(tables.Table):
    number = tables.Column(verbose_name="受理编号", linkify=("subsidies:application", {"pk": tables.A("pk")}))
    person = tables.Column(verbose_name="申请人", accessor="person__name")
    kinds = tables.Column(verbose_name="项目", empty_values=(), accessor="pk")
    community = tables.Column(verbose_name="社区", accessor="community__name")
    applied_on = tables.DateColumn(verbose_name="申请日期", format="Y-m-d")
    status = tables.Column(verbose_name="状态")

    class Meta:
        model = Application
        fields = ()
        sequence = ("number", "person", "kinds", "community", "applied_on", "status")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有申请。"

    def render_kinds(self, record):
        return " ".join(label for flag, label in ((record.living, "生活"), (record.care, "护理")) if flag)

    def render_status(self, record):
        if record.waiting_step:
            return f"{record.get_status_display()}，待{record.get_waiting_step_display()}"
        return record.get_status_display()


class GrantTable(tables.Table):
    person = tables.Column(
        verbose_name="姓名", accessor="person__name", linkify=("subsidies:grant", {"pk": tables.A("pk")})
    )
    kind = tables.Column(verbose_name="项目", accessor="get_kind_display")
    street = tables.Column(verbose_name="街道", accessor="street__name")
    start_month = tables.DateColumn(verbose_name="起始月份", format="Y-m")
    status = tables.Column(verbose_name="状态", accessor="get_status_display")
    recalc_from = tables.DateColumn(verbose_name="待重算自", format="Y-m", default="")

    class Meta:
        model = Grant
        fields = ()
        sequence = ("person", "kind", "street", "start_month", "status", "recalc_from")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有符合条件的人员。"


class AppealTable(tables.Table):
    person = tables.Column(
        verbose_name="申诉人",
        accessor="grant__person__name",
        linkify=("subsidies:appeal", {"pk": tables.A("pk")}),
    )
    kind = tables.Column(verbose_name="项目", accessor="grant__get_kind_display")
    street = tables.Column(verbose_name="街道", accessor="grant__street__name")
    change = tables.Column(verbose_name="被申诉的变更", empty_values=())
    lodged_on = tables.DateColumn(verbose_name="申诉日期", format="Y-m-d")
    due_on = tables.Column(verbose_name="复核期限")
    status = tables.Column(verbose_name="状态")

    class Meta:
        model = Appeal
        fields = ()
        sequence = ("person", "kind", "street", "change", "lodged_on", "due_on", "status")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有符合条件的申诉。"

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def _overdue(self, record) -> bool:
        return record.is_open and record.due_on < self.today

    def render_change(self, record):
        change = record.change
        return (
            f"{change.get_action_display()} 自 {change.effective_month:%Y-%m}"
            f"（{change.get_stop_reason_display() or change.reason}）"
        )

    def render_due_on(self, record):
        return format_html(
            '<span class="{}">{}</span>',
            "danger-text" if self._overdue(record) else "",
            f"{record.due_on:%Y-%m-%d}",
        )

    def render_status(self, record):
        return record.get_status_display() + ("（逾期）" if self._overdue(record) else "")


class PayrollTable(tables.Table):
    month = tables.DateColumn(
        verbose_name="月份", format="Y年n月", linkify=("subsidies:payroll", {"pk": tables.A("pk")})
    )
    status = tables.Column(verbose_name="状态")
    line_count = tables.Column(verbose_name="条数", attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    total = tables.Column(verbose_name="合计（元）", attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    run = tables.Column(verbose_name="计算", empty_values=(), accessor="run_at")
    locked = tables.Column(verbose_name="锁定", empty_values=(), accessor="locked_at")

    class Meta:
        model = Payroll
        fields = ()
        sequence = ("month", "status", "line_count", "total", "run", "locked")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "尚无发放。"

    def render_status(self, record):
        legacy = "（原系统迁入）" if record.source == PayrollSource.LEGACY else ""
        if record.status == PayrollStatus.RUNNING and not payroll_busy(record):
            return "计算未完成" + legacy
        return record.get_status_display() + legacy

    def render_run(self, record):
        return _who_when(record.run_by, record.run_at)

    def render_locked(self, record):
        return _who_when(record.locked_by, record.locked_at)


NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


class PayrollLineTable(tables.Table):
    """A payroll's lines as the reviewer checks them: who, what, for which month, how much."""

    person = tables.Column(
        verbose_name="姓名",
        accessor="person__name",
        linkify=("subsidies:grant", {"pk": tables.A("grant_id")}),
    )
    id_number = tables.Column(verbose_name="身份证号", accessor="person__id_number")
    street = tables.Column(verbose_name="街道", accessor="street__name")
    kind = tables.Column(verbose_name="项目", accessor="get_kind_display")
    line_type = tables.Column(verbose_name="类型", accessor="get_line_type_display")
    month_for = tables.DateColumn(verbose_name="所属月份", format="Y-m")
    amount = tables.Column(verbose_name="金额（元）", attrs=NUM)
    bank_status = tables.Column(verbose_name="银行反馈", accessor="get_bank_status_display")

    class Meta:
        model = PayrollLine
        fields = ()
        sequence = (
            "person",
            "id_number",
            "street",
            "kind",
            "line_type",
            "month_for",
            "amount",
            "bank_status",
        )
        orderable = False
        attrs = {"class": "table table-compact"}
        empty_text = "没有符合条件的发放明细。"

    def render_id_number(self, value):
        # Masked as everywhere on the pages; the full number is only in the audited payment file.
        return mask_id_number(value)


def _who_when(user, at) -> str:
    when = f"{timezone.localtime(at):%m-%d %H:%M}" if at else ""
    return f"{user or ''} {when}".strip()
