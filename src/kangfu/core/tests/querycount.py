"""The query count of a list page at two sizes of its data, for the tests that pin it (issue 16).

A page is asked once to warm what a process reads once (the policy's regions, content types), then
counted with N rows and again with 3N: the two counts must be equal, and equal to the pinned
number, or the page does work per row (an N+1).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

SMALL, LARGE = 3, 9


def count(client: Client, url: str) -> tuple[int, int]:
    """The statements one GET of `url` runs, and the length of its answer (which must be a 200):
    the page's own work, not a figure it kept from the last visit (the cache is emptied first)."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries), len(response.content)


def at_two_sizes(
    client: Client, url: str, grow: Callable[[int], object], *, lists_rows: bool = True
) -> tuple[int, int]:
    """(queries with SMALL rows, queries with LARGE rows): `grow(n)` adds n rows the page lists.

    With `lists_rows`, the page must also have grown, so that the rows are known to be in the
    reader's scope and on the page rather than counted as nothing (a page of figures does not grow).
    """
    grow(SMALL)
    client.get(url)
    few, small_page = count(client, url)
    grow(LARGE - SMALL)
    many, large_page = count(client, url)
    if lists_rows:
        assert large_page > small_page, f"{url} shows no more with {LARGE} rows than with {SMALL}"
    return few, many
