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


BAD_PICK = "勾选的记录无法识别，请刷新页面后重试。"


def picks(request) -> list[tuple[int, int | None]]:
    """The rows ticked on a worklist, each `pk:version` as the page showed it (version may be
    empty), in order and without repeats; a value that is not that shape is a `ValueError`."""
    seen: dict[int, int | None] = {}
    for value in request.POST.getlist("pick"):
        pk, _sep, version = value.partition(":")
        seen.setdefault(int(pk), int(version) if version else None)
    return list(seen.items())
