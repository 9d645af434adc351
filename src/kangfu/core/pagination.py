"""A paginator that stops counting where counting stops being useful."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most `cap` rows (COUNT over a LIMIT subquery), so a page of a million-row list
    costs the same as a page of a small one. `capped` tells the template to say "more than"."""

    def __init__(self, object_list, per_page, *args, cap: int | None = None, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.cap = cap or settings.KANGFU_LIST_COUNT_CAP
        self.capped = False

    @cached_property
    def count(self) -> int:
        n = self._queryset()[: self.cap + 1].count()
        self.capped = n > self.cap
        return min(n, self.cap)

    def _queryset(self):
        # django-tables2 hands over its BoundRows; the queryset is two wrappers down.
        rows = self.object_list
        table_data = getattr(rows, "data", None)
        return getattr(table_data, "data", rows)
