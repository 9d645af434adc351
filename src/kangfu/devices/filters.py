"""One FilterSet per list of the rental business, serving its page and the API alike. Each filters a
queryset the selectors have already scoped, so a value outside the user's centre finds nothing."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone

from kangfu.devices.models import (
    OPEN_RENTAL,
    Product,
    Rental,
    RentalRequest,
    RentalStatus,
    RequestStatus,
    Unit,
    UnitStatus,
)


class ProductFilter(django_filters.FilterSet):
    category = django_filters.NumberFilter(label="分类", field_name="category_id")
    is_active = django_filters.BooleanFilter(label="在租")

    class Meta:
        model = Product
        fields = ["category", "is_active"]


class UnitFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="编号或产品名", method="filter_q")
    status = django_filters.ChoiceFilter(label="状态", choices=UnitStatus.choices, empty_label="全部")
    outlet = django_filters.NumberFilter(label="网点", field_name="outlet_id")
    product = django_filters.NumberFilter(label="产品", field_name="product_id")

    class Meta:
        model = Unit
        fields = ["q", "status", "outlet", "product"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(serial__startswith=value) | Q(product__name__contains=value))


# The tabs of the rentals page; with no `view` at all the page opens on the rentals still open.
RENTAL_VIEWS = [
    ("open", "未结束"),
    ("overdue", "逾期"),
    *RentalStatus.choices,
    ("all", "全部"),
]


class RentalFilter(django_filters.FilterSet):
    view = django_filters.ChoiceFilter(label="范围", choices=RENTAL_VIEWS, method="filter_view")
    person = django_filters.NumberFilter(label="承租人", field_name="person_id")
    unit = django_filters.NumberFilter(label="设备", field_name="unit_id")

    class Meta:
        model = Rental
        fields = ["view", "person", "unit"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and "view" not in data:
            data = data.copy()
            data["view"] = "open"
        super().__init__(data, *args, **kwargs)

    def filter_view(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status__in=OPEN_RENTAL)
        if value == "overdue":
            return queryset.filter(status=RentalStatus.ACTIVE, end_date__lt=timezone.localdate())
        if value in RentalStatus.values:
            return queryset.filter(status=value)
        return queryset


class RequestFilter(django_filters.FilterSet):
    """Requests by status; with none given, the ones still waiting for an answer."""

    status = django_filters.ChoiceFilter(label="状态", choices=RequestStatus.choices, empty_label="全部")

    class Meta:
        model = RentalRequest
        fields = ["status"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and "status" not in data:
            data = data.copy()
            data["status"] = RequestStatus.NEW
        super().__init__(data, *args, **kwargs)
