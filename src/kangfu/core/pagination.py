"""A paginator that stops counting where counting stops being useful, and the API's bounded pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from ninja import Query

from kangfu.core import audit
from kangfu.core.models import User


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


# The API's lists (people, subsidies, devices, matching) page with `limit` and `offset`, bounded here
# once: a value out of range is the API's 422 with its field named, never a slice the database cannot
# take (an offset past 2**63 was a 500).
MAX_LIMIT = 100
# High enough to page through a city's list, low enough that no OFFSET scans without end.
MAX_OFFSET = 1_000_000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"每页条数，1 至 {MAX_LIMIT}")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"从第几条起（0 起），最大 {MAX_OFFSET}")]


def api_page(
    rows: QuerySet,
    *,
    limit: int,
    offset: int,
    out: Callable[[list], list],
    reader: User | None = None,
    person_of: Callable[[Any], int | None] | None = None,
    summary: str = "",
) -> dict:
    """One page of an API list: `out` turns the rows from `offset` into items; the count stops at
    `KANGFU_LIST_COUNT_CAP`, as the pages' count does, and `count_capped` says there are more.
    With `reader`, a list of named people leaves one audit entry per row read (`person_of` gives its
    person), in one statement: each person's trail shows who read them, by list as by record."""
    cap = settings.KANGFU_LIST_COUNT_CAP
    count = rows[: cap + 1].count()
    page = list(rows[offset : offset + limit])
    if reader is not None and person_of is not None:
        audit.record_reads(actor=reader, records=page, person_of=person_of, summary=summary)
    return {
        "count": min(count, cap),
        "count_capped": count > cap,
        "items": out(page),
    }


def audit_page(actor: User, table, *, person_of: Callable[[Any], int | None], summary: str) -> None:
    """A list page's rows of named people, read: one audit entry per row shown, in one statement, as
    `api_page` does for the API (a page of 20 is 20 entries; an empty page none)."""
    page = getattr(table, "page", None)
    records = [row.record for row in page.object_list] if page is not None else []
    audit.record_reads(actor=actor, records=records, person_of=person_of, summary=summary)


def filtered(filterset_class, request, queryset: QuerySet) -> QuerySet:
    """An API list's rows through the page's FilterSet, over rows already scoped to the user; a value
    it cannot read is a 400 (ValidationError), not silently ignored."""
    filterset = filterset_class(request.GET, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors.as_data())
    return filterset.qs
