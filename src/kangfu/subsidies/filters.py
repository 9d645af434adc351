"""One FilterSet per list of 两项补贴, serving its page and the API alike."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from kangfu.people.models import Person
from kangfu.people.selectors import search_q
from kangfu.subsidies.models import (
    Appeal,
    AppealStatus,
    Application,
    ApplicationStatus,
    Grant,
    GrantStatus,
    Kind,
    LineType,
    Payroll,
    PayrollLine,
    PayrollStatus,
    Standard,
    Step,
)


def _person_q(value: str) -> Q:
    """The registry's search box (`people.selectors.search_q`: an ID, certificate or phone number
    exactly, else the beginning of a name) over the rows' people; the rows' own scope still applies."""
    return Q(person__in=Person.objects.filter(search_q(value)))


class _Defaults(django_filters.FilterSet):
    """A FilterSet whose page opens on a view other than "all": `DEFAULTS` apply when the parameter
    is absent, and an empty value (the "全部" choice) still means all."""

    DEFAULTS: dict[str, str] = {}

    def __init__(self, data=None, *args, **kwargs):
        if self.DEFAULTS:
            data = data.copy() if data is not None else {}
            for name, value in self.DEFAULTS.items():
                if name not in data:
                    data[name] = value
        super().__init__(data, *args, **kwargs)


class ApplicationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="搜索", method="filter_q")
    status = django_filters.ChoiceFilter(label="状态", choices=ApplicationStatus.choices, empty_label="全部")
    step = django_filters.ChoiceFilter(
        label="待办环节", field_name="waiting_step", choices=Step.choices, empty_label="全部"
    )
    kind = django_filters.ChoiceFilter(
        label="项目", choices=Kind.choices, method="filter_kind", empty_label="全部"
    )
    applied_from = django_filters.DateFilter(label="申请日期自", field_name="applied_on", lookup_expr="gte")
    applied_to = django_filters.DateFilter(label="申请日期至", field_name="applied_on", lookup_expr="lte")

    class Meta:
        model = Application
        fields = ["q", "status", "step", "kind", "applied_from", "applied_to"]

    def filter_q(self, queryset, name, value):
        text = value.strip().upper()
        if text.startswith("SB"):
            return queryset.filter(number=text)
        return queryset.filter(_person_q(value))

    def filter_kind(self, queryset, name, value):
        return queryset.filter(**{value: True})


class GrantFilter(_Defaults):
    DEFAULTS = {"status": GrantStatus.ACTIVE}

    q = django_filters.CharFilter(label="姓名开头或身份证号", method="filter_q")
    kind = django_filters.ChoiceFilter(label="项目", choices=Kind.choices, empty_label="全部")
    status = django_filters.ChoiceFilter(label="状态", choices=GrantStatus.choices, empty_label="全部")
    street = django_filters.CharFilter(label="街道代码", field_name="street_id")

    class Meta:
        model = Grant
        fields = ["q", "kind", "status", "street"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(_person_q(value))


class AppealFilter(_Defaults):
    DEFAULTS = {"status": AppealStatus.LODGED}

    status = django_filters.ChoiceFilter(label="状态", choices=AppealStatus.choices, empty_label="全部")

    class Meta:
        model = Appeal
        fields = ["status"]


class PayrollFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(label="状态", choices=PayrollStatus.choices, empty_label="全部")
    month_from = django_filters.DateFilter(label="月份自", field_name="month", lookup_expr="gte")
    month_to = django_filters.DateFilter(label="月份至", field_name="month", lookup_expr="lte")

    class Meta:
        model = Payroll
        fields = ["status", "month_from", "month_to"]


class PayrollLineFilter(django_filters.FilterSet):
    """The lines of one payroll, as the reviewer narrows them before locking: by street, by a
    person's name or ID number, by kind and type. `streets` are the (code, name) pairs offered."""

    q = django_filters.CharFilter(label="姓名开头或身份证号", method="filter_q")
    street = django_filters.ChoiceFilter(label="街道", field_name="street_id", choices=(), empty_label="全部")
    kind = django_filters.ChoiceFilter(label="项目", choices=Kind.choices, empty_label="全部")
    line_type = django_filters.ChoiceFilter(label="类型", choices=LineType.choices, empty_label="全部")

    class Meta:
        model = PayrollLine
        fields = ["q", "street", "kind", "line_type"]

    def __init__(self, *args, streets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["street"].extra["choices"] = list(streets)

    def filter_q(self, queryset, name, value):
        return queryset.filter(_person_q(value))


class StandardFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label="补贴类别", choices=Kind.choices, empty_label="全部")
    region = django_filters.CharFilter(label="区划代码", field_name="region_id")
    on = django_filters.DateFilter(label="在某日有效", method="filter_on")

    class Meta:
        model = Standard
        fields = ["kind", "region", "on"]

    def filter_on(self, queryset, name, value):
        return queryset.filter(valid_from__lte=value).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=value)
        )
