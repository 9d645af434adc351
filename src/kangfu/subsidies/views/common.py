"""What every page of 两项补贴 shares: the right to read, and the list paging."""

from __future__ import annotations

from django_tables2 import RequestConfig

from kangfu.core import access
from kangfu.core.pagination import CappedPaginator, audit_page


def reads(request):
    access.require(request.user, "reads_civil_affairs")


def paged(request, table, *, per_page: int = 50, read: str = ""):
    """A list table paged as every list is (`people`'s): at most `per_page` rows, a capped count.
    With `read`, a list of named people leaves that read entry for each row shown."""
    RequestConfig(request, paginate={"per_page": per_page, "paginator_class": CappedPaginator}).configure(
        table
    )
    if read:
        audit_page(request.user, table, person_of=lambda row: row.person_id, summary=read)
    return table


BAD_PICK = "勾选的记录无法识别，请刷新页面后重试。"
# More than a worklist ever shows (100 applications, 200 review tasks): a longer list was not ticked.
MAX_PICKS = 200


def bounded_int(value: str, *, limit: int = 2**63) -> int:
    """A positive whole number the database can hold (a key is a bigint, a version an integer):
    anything else, "abc" or twenty nines, is a `ValueError` the page answers with a message, not a
    database error."""
    number = int(value)
    if not 0 < number < limit:
        raise ValueError(value)
    return number


def picks(request) -> list[tuple[int, int | None]]:
    """The rows ticked on a worklist, each `pk:version` as the page showed it (version may be
    empty), in order and without repeats; a value that is not that shape, or more than a page
    shows, is a `ValueError`."""
    seen: dict[int, int | None] = {}
    for value in request.POST.getlist("pick"):
        pk, _sep, version = value.partition(":")
        seen.setdefault(bounded_int(pk), bounded_int(version, limit=2**31) if version else None)
        if len(seen) > MAX_PICKS:
            raise ValueError("too many")
    return list(seen.items())
