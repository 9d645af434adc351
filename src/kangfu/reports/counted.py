"""Figures of a statistics page, counted at most once every few minutes for each scope.

The overview and the 两项补贴 indicators count every person of the area (the indicators judge each by
the eligibility rules): statistics, not a worklist. Officers open them all day, and every opening
counted the district again; the figures are now kept for `SECONDS` in the machine's cache and the page
says when they were counted. A worklist, a record or a payroll is never read from here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.cache import cache
from django.utils import timezone

from kangfu.core import access

SECONDS = 300


def scope_of(user) -> str:
    """All that scopes a user's figures (core.access.people_q: the role and its jurisdiction, and the
    organisation for a role that sees only whom it serves), not the account: a district's officers
    share one count, and a user moved to another area or role reads another key at once."""
    served_by = user.organisation_id if access.policy(user).serves_only else ""
    return f"{user.role}:{user.jurisdiction_id}:{served_by}"


def counted(user, name: str, count: Callable[[], dict]) -> dict:
    """`count()`'s figures for the user's scope, with `counted_at`, from the cache where they are fresh
    enough; counted and kept otherwise. The day is in the key: figures of a month or "as of today"
    never cross midnight."""
    key = f"{name}:{scope_of(user)}:{timezone.localdate():%Y%m%d}"
    figures = cache.get(key)
    if figures is None:
        figures = {**count(), "counted_at": timezone.localtime()}
        cache.set(key, figures, SECONDS)
    return figures
