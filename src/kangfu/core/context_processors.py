"""What the layout needs on every page: the user's role, jurisdiction, the service menu and the
counts of work waiting in each service."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.urls import reverse
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


def _pending(request, user, rights) -> dict[str, Pending]:
    """Each registered count the role has, once per request however often the layout is drawn."""
    cached = getattr(request, "_kangfu_pending", None)
    if cached is not None:
        return cached
    pending: dict[str, Pending] = {}
    for badge in menu_badges():
        if not getattr(rights, badge.ability):
            continue
        try:
            n = badge.count(user)
        except PermissionDenied:
            # A role that has the ability but not the organisation it needs (a clinician without an
            # institution) has nothing waiting, and every page must still open.
            continue
        if n:
            pending.setdefault(badge.app, Pending()).parts.append((badge.label, n, badge.overdue))
    request._kangfu_pending = pending
    return pending


def _menu(rights, pending: dict[str, Pending]) -> list[tuple[str, str, str | None, Pending | None]]:
    menu: list[tuple[str, str, str | None, Pending | None]] = []
    seen: set[str] = set()
    for entry in menu_entries():
        if entry.label in seen or not getattr(rights, entry.ability):
            continue
        seen.add(entry.label)
        menu.append((entry.app, entry.label, reverse(entry.url_name), pending.get(entry.app)))
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
