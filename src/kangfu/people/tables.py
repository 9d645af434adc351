"""The people list table."""

from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone

from kangfu.core.ids import mask_id_number
from kangfu.people.models import Person
from kangfu.people.selectors import current_certificate


class PersonTable(tables.Table):
    name = tables.Column(verbose_name="姓名", linkify=("people:detail", {"pk": tables.A("pk")}))
    id_number = tables.Column(verbose_name="身份证号")
    sex = tables.Column(verbose_name="性别", accessor="get_sex_display")
    age = tables.Column(verbose_name="年龄", empty_values=(), accessor="birth_date")
    street = tables.Column(verbose_name="街道（乡镇）", accessor="street__name")
    community = tables.Column(verbose_name="社区（村）", accessor="community__name")
    certificate = tables.Column(verbose_name="残疾类别/等级", empty_values=(), accessor="pk")
    vital_status = tables.Column(verbose_name="状态", accessor="get_vital_status_display")

    class Meta:
        model = Person
        fields = ()
        sequence = ("name", "id_number", "sex", "age", "street", "community", "certificate", "vital_status")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "没有符合条件的人员。"

    def render_id_number(self, value):
        return mask_id_number(value)

    def render_age(self, record):
        return record.age_on(timezone.localdate())

    def render_certificate(self, record):
        cert = current_certificate(record)
        return str(cert) if cert else "—"
