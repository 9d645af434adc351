"""One FilterSet for the people list page, its export and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from kangfu.core.models import LEVEL_DIGITS, Region, RegionLevel, level_of_code
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCategory,
    DisabilityCertificate,
    DisabilityGrade,
    IncomePeriod,
    IncomeStatus,
    Person,
    VitalStatus,
)
from kangfu.people.selectors import search_q

_REGION_FIELD = {
    RegionLevel.CITY: "city_id",
    RegionLevel.DISTRICT: "district_id",
    RegionLevel.STREET: "street_id",
    RegionLevel.COMMUNITY: "community_id",
}


class PersonFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="搜索", method="filter_q")
    region = django_filters.CharFilter(label="区划", method="filter_region")
    category = django_filters.ChoiceFilter(
        label="残疾类别",
        choices=DisabilityCategory.choices,
        method="filter_certificate",
        empty_label="全部",
    )
    grade = django_filters.ChoiceFilter(
        label="残疾等级",
        choices=DisabilityGrade.choices,
        method="filter_certificate",
        empty_label="全部",
    )
    income = django_filters.ChoiceFilter(
        label="收入状况", choices=IncomeStatus.choices, method="filter_income", empty_label="全部"
    )
    vital_status = django_filters.ChoiceFilter(
        label="人员状态", choices=VitalStatus.choices, empty_label="全部"
    )

    class Meta:
        model = Person
        fields = ["q", "region", "category", "grade", "income", "vital_status"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value))

    def filter_region(self, queryset, name, value):
        code = (value or "").strip()
        if not code.isdigit() or len(code) > 12:
            return queryset.none()
        code = code.ljust(12, "0")
        level = level_of_code(code)
        if level == RegionLevel.PROVINCE:
            return queryset.filter(city__code__startswith=code[: LEVEL_DIGITS[level]])
        # Scope is applied before this filter, so a code outside the jurisdiction finds nobody.
        return queryset.filter(**{_REGION_FIELD[level]: code})

    def filter_certificate(self, queryset, name, value):
        # Category and grade narrow the same valid certificate, so apply both at once.
        if name == "grade" and self.form.cleaned_data.get("category"):
            return queryset
        certs = DisabilityCertificate.objects.filter(person=OuterRef("pk"), status=CertificateStatus.VALID)
        category = self.form.cleaned_data.get("category")
        grade = self.form.cleaned_data.get("grade")
        if category:
            certs = certs.filter(category=int(category))
        if grade:
            certs = certs.filter(grade=int(grade))
        return queryset.filter(Exists(certs))

    def filter_income(self, queryset, name, value):
        today = timezone.localdate()
        current = IncomePeriod.objects.filter(
            person=OuterRef("pk"), status=value, start_date__lte=today
        ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        return queryset.filter(Exists(current))


def region_label(code: str | None) -> str:
    if not code:
        return ""
    region = Region.objects.filter(code=code.ljust(12, "0")).first()
    return region.name if region else code
