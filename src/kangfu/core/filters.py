"""The audit log's filter form: by account, action, person, object and dates."""

import django_filters

from kangfu.core.forms import DateInput
from kangfu.core.models import AuditAction, AuditEntry


class AuditFilter(django_filters.FilterSet):
    username = django_filters.CharFilter(field_name="actor_username", label="操作账号")
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, label="操作", empty_label="全部")
    person_id = django_filters.NumberFilter(label="人员编号")
    object_type = django_filters.CharFilter(label="对象类型")
    since = django_filters.DateFilter(
        field_name="at", lookup_expr="date__gte", label="起始日期", widget=DateInput
    )
    until = django_filters.DateFilter(
        field_name="at", lookup_expr="date__lte", label="截止日期", widget=DateInput
    )

    class Meta:
        model = AuditEntry
        fields = ["username", "action", "person_id", "object_type", "since", "until"]
