"""What the layout needs on every page: the user's role, jurisdiction, the service menu and the
counts of work waiting in each service."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import SimpleLazyObject

from kangfu.core.access import policy
from kangfu.core.registry import menu_badges, menu_entries


@dataclass
class Pending:
    """The counts of one menu entry: a total to show and what it is made of, for its title."""

    parts: list[tuple[str, int, bool]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(n for _label, n, _overdue in self.parts)

    @property
    def overdue(self) -> bool:
        return any(late for _label, _n, late in self.parts)

    @property
    def title(self) -> str:
        return "；".join(f"{label} {n}" for label, n, _late in self.parts)


# The session keeps the counts for a minute: they cost a query per badge, the session row is read on
# every request anyway and shared by every server process, and a minute is as fresh as a count of
# work waiting for others needs to be. What the user changes themselves is counted at once: any
# request that may change data drops them (core.middleware.SessionLifetimeMiddleware).
PENDING = "kangfu_pending"
PENDING_SECONDS = 60


def remember_pending(request, user) -> None:
    """Counted as the user signs in (core.signals), so that every page of the first minute, the first
    one too, reads the counts with the session rather than counting."""
    _counts(request, user, policy(user), fresh=True)


def _counts(request, user, rights, *, fresh: bool = False) -> dict[str, int]:
    """{badge key: count} for the badges the role has, from the session while they are fresh."""
    session = getattr(request, "session", None)
    badges = [badge for badge in menu_badges() if getattr(rights, badge.ability)]
    now = time.time()
    kept = session.get(PENDING) if session is not None else None
    fresh_enough = kept and 0 <= now - kept["at"] < PENDING_SECONDS
    if not fresh and fresh_enough and set(kept["counts"]) == {b.key for b in badges}:
        return kept["counts"]
    counts: dict[str, int] = {}
    for badge in badges:
        try:
            counts[badge.key] = badge.count(user)
        except PermissionDenied:
            # A role that has the ability but not the organisation it needs (a clinician without an
            # institution) has nothing waiting, and every page must still open.
            counts[badge.key] = 0
    if session is not None:
        session[PENDING] = {"at": now, "counts": counts}
    return counts


def _pending(request, user, rights) -> dict[str, Pending]:
    """Each registered count the role has, once per request however often the layout is drawn, and
    from the session for a minute after it was counted."""
    cached = getattr(request, "_kangfu_pending", None)
    if cached is not None:
        return cached
    counts = _counts(request, user, rights)
    pending: dict[str, Pending] = {}
    for badge in menu_badges():
        if counts.get(badge.key):
            pending.setdefault(badge.app, Pending()).parts.append(
                (badge.label, counts[badge.key], badge.overdue)
            )
    request._kangfu_pending = pending
    return pending


@functools.cache
def _address(url_name: str, prefix: str, urlconf: str | None) -> str:
    """A menu entry's address, reversed once per process (for each script prefix and URLconf, which
    `reverse` reads from the request's thread) rather than once per entry on every page."""
    return reverse(url_name, urlconf=urlconf)


def _menu(rights, pending: dict[str, Pending]) -> list[tuple[str, str, str | None, Pending | None]]:
    menu: list[tuple[str, str, str | None, Pending | None]] = []
    seen: set[str] = set()
    for entry in menu_entries():
        if entry.label in seen or not getattr(rights, entry.ability):
            continue
        seen.add(entry.label)
        menu.append(
            (
                entry.app,
                entry.label,
                _address(entry.url_name, get_script_prefix(), get_urlconf()),
                pending.get(entry.app),
            )
        )
    return menu


def layout(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    rights = policy(user)
    # Lazy: a page fragment for htmx (a table's next page) never draws the menu, so it must not pay
    # for its counts; a full page computes them on first use.
    menu = SimpleLazyObject(lambda: _menu(rights, _pending(request, user, rights)))
    return {"nav_services": menu, "role_policy": rights}
