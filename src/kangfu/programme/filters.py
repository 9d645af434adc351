"""One FilterSet per list of the programme, serving its page and the API alike; each filters a
queryset the selectors have already scoped."""

from __future__ import annotations

import django_filters

from kangfu.programme.models import (
    Contract,
    ContractStatus,
    Fund,
    FundSource,
    PaymentRequest,
    PaymentStatus,
    Visit,
)


class FundFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(label="年度")
    source = django_filters.ChoiceFilter(label="资金来源", choices=FundSource.choices, empty_label="全部")

    class Meta:
        model = Fund
        fields = ["year", "source"]


class ContractFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(label="年度", field_name="starts_on", lookup_expr="year")
    institution = django_filters.NumberFilter(label="承接机构", field_name="institution_id")
    fund = django_filters.NumberFilter(label="资金", field_name="fund_id")
    status = django_filters.ChoiceFilter(label="状态", choices=ContractStatus.choices, empty_label="全部")

    class Meta:
        model = Contract
        fields = ["year", "institution", "fund", "status"]


class PaymentFilter(django_filters.FilterSet):
    """Payment requests by status; with none given, those waiting for approval."""

    status = django_filters.ChoiceFilter(label="状态", choices=PaymentStatus.choices, empty_label="全部")
    contract = django_filters.NumberFilter(label="合同", field_name="contract_id")

    class Meta:
        model = PaymentRequest
        fields = ["status", "contract"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and "status" not in data:
            data = data.copy()
            data["status"] = PaymentStatus.PENDING
        super().__init__(data, *args, **kwargs)


class VisitFilter(django_filters.FilterSet):
    year = django_filters.NumberFilter(label="年度")
    quarter = django_filters.ChoiceFilter(
        label="季度", choices=[(q, f"第{q}季度") for q in (1, 2, 3, 4)], empty_label="全部"
    )
    institution = django_filters.NumberFilter(label="机构", field_name="institution_id")

    class Meta:
        model = Visit
        fields = ["year", "quarter", "institution"]
