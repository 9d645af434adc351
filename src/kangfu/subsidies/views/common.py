"""What every page of 两项补贴 shares: the right to read, and the list paging."""

from __future__ import annotations

from django_tables2 import RequestConfig

from kangfu.core import access
from kangfu.core.pagination import CappedPaginator


def reads(request):
    access.require(request.user, "reads_civil_affairs")


def paged(request, table, *, per_page: int = 50):
    """A list table paged as every list is (`people`'s): at most `per_page` rows, a capped count."""
    RequestConfig(request, paginate={"per_page": per_page, "paginator_class": CappedPaginator}).configure(
        table
    )
    return table
