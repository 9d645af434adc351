"""The list tables of the rental centre's pages."""

from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html

from kangfu.devices.models import Rental, RentalRequest, RentalStatus, Unit


class UnitTable(tables.Table):
    serial = tables.Column(verbose_name="编号", linkify=("devices:unit", {"pk": tables.A("pk")}))
    product = tables.Column(verbose_name="产品", accessor="product__name")
    category = tables.Column(verbose_name="分类", accessor="product__category__name")
    outlet = tables.Column(verbose_name="网点", accessor="outlet__name")
    status = tables.Column(verbose_name="状态")
    status_changed_at = tables.DateTimeColumn(verbose_name="状态变更", format="Y-m-d H:i")

    class Meta:
        model = Unit
        fields = ()
        sequence = ("serial", "product", "category", "outlet", "status", "status_changed_at")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有符合条件的设备。"

    def render_status(self, record):
        return format_html(
            '<span class="status status-{}">{}</span>', record.status, record.get_status_display()
        )


class RentalTable(tables.Table):
    number = tables.Column(verbose_name="合同", linkify=("devices:rental", {"pk": tables.A("pk")}))
    person = tables.Column(verbose_name="承租人", accessor="person__name")
    product = tables.Column(verbose_name="产品", accessor="product__name")
    unit = tables.Column(verbose_name="设备", accessor="unit__serial")
    outlet = tables.Column(verbose_name="网点", accessor="outlet__name")
    period = tables.Column(verbose_name="租期", accessor="start_date", empty_values=())
    status = tables.Column(verbose_name="状态")

    class Meta:
        model = Rental
        fields = ()
        sequence = ("number", "person", "product", "unit", "outlet", "period", "status")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有租赁。"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = timezone.localdate()

    def _overdue(self, record) -> bool:
        return record.status == RentalStatus.ACTIVE and record.end_date < self.today

    def render_period(self, record):
        return format_html(
            '{} 至 <span class="{}">{}</span>',
            f"{record.start_date:%Y-%m-%d}",
            "danger-text" if self._overdue(record) else "",
            f"{record.end_date:%Y-%m-%d}",
        )

    def render_status(self, record):
        return record.get_status_display() + ("（逾期）" if self._overdue(record) else "")


class RequestTable(tables.Table):
    reference = tables.Column(verbose_name="受理编号", linkify=("devices:request", {"pk": tables.A("pk")}))
    name = tables.Column(verbose_name="申请人")
    product = tables.Column(verbose_name="产品", accessor="product__name")
    outlet = tables.Column(verbose_name="网点", accessor="outlet__name")
    desired_start = tables.DateColumn(verbose_name="希望开始", format="Y-m-d")
    months = tables.Column(verbose_name="月数")
    wants_delivery = tables.Column(verbose_name="送货", empty_values=())
    created_at = tables.DateTimeColumn(verbose_name="提交时间", format="Y-m-d H:i")

    class Meta:
        model = RentalRequest
        fields = ()
        sequence = (
            "reference",
            "name",
            "product",
            "outlet",
            "desired_start",
            "months",
            "wants_delivery",
            "created_at",
        )
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有申请。"

    def render_wants_delivery(self, value):
        return "是" if value else ""
