"""The FilterSet of the matching worklist, serving its page and its export alike."""

from __future__ import annotations

import django_filters

from kangfu.matching.models import Direction, ItemStatus
from kangfu.matching.rules import RULE_NAMES
from kangfu.matching.selectors import OPEN
from kangfu.people.models import Person
from kangfu.people.selectors import search_q

STATUS_OPEN = "open_all"


class ItemFilter(django_filters.FilterSet):
    """The worklist opens on what is still to be done (待核实 and 待区审批); an empty status, the
    "全部" choice, means every item."""

    q = django_filters.CharFilter(label="姓名开头或身份证号", method="filter_q")
    rule = django_filters.ChoiceFilter(label="规则", choices=list(RULE_NAMES.items()), empty_label="全部")
    direction = django_filters.ChoiceFilter(label="方向", choices=Direction.choices, empty_label="全部")
    status = django_filters.ChoiceFilter(
        label="状态",
        choices=[(STATUS_OPEN, "未销账"), *ItemStatus.choices],
        method="filter_status",
        empty_label="全部",
    )

    def __init__(self, data=None, *args, **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("status", STATUS_OPEN)
        super().__init__(data, *args, **kwargs)

    def filter_q(self, queryset, name, value):
        # The registry's search box: an ID, certificate or phone number exactly (blind index), else
        # the beginning of a name; the items' own scope still applies.
        return queryset.filter(person__in=Person.objects.filter(search_q(value)))

    def filter_status(self, queryset, name, value):
        if value == STATUS_OPEN:
            return queryset.filter(status__in=OPEN)
        return queryset.filter(status=value)
