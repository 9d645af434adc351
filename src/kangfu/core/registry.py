"""What the apps contribute to the pages every user sees: menu entries, counts of pending work beside
them, and home-page panels.

Core knows nothing of the apps built on it (the import contracts hold it to that): each app registers
its entries when it is ready, as the person record's tabs are registered (people.tabs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MenuEntry:
    """A service in the top menu, shown to roles whose RolePolicy has `ability`. One label may be
    registered for several abilities, each with its page; the first that applies is shown."""

    app: str
    label: str
    url_name: str
    ability: str
    order: int


@dataclass(frozen=True)
class HomePanel:
    """A card on the home page, for roles whose RolePolicy has `ability`; `context(request)` gives the
    template its (scoped) data."""

    key: str
    template: str
    ability: str
    order: int
    context: Callable[[Any], dict] | None = None


@dataclass(frozen=True)
class Badge:
    """A count of work waiting for the user, shown beside the app's menu entry to roles whose
    RolePolicy has `ability`. `count(user)` must be one cheap query scoped to the user (it runs on
    every page); `label` says what is counted (待本级审批的申请), `overdue` colours it as late."""

    app: str
    key: str
    label: str
    ability: str
    count: Callable[[Any], int]
    overdue: bool = False
    order: int = 0


_menu: list[MenuEntry] = []
_badges: dict[str, Badge] = {}
_panels: dict[str, HomePanel] = {}


def register_menu(*entries: MenuEntry) -> None:
    for entry in entries:
        if entry not in _menu:
            _menu.append(entry)


def menu_entries() -> list[MenuEntry]:
    return sorted(_menu, key=lambda e: e.order)


def register_panel(panel: HomePanel) -> None:
    _panels[panel.key] = panel


def home_panels() -> list[HomePanel]:
    return sorted(_panels.values(), key=lambda p: p.order)


def register_badge(*badges: Badge) -> None:
    for badge in badges:
        _badges[badge.key] = badge


def menu_badges() -> list[Badge]:
    return sorted(_badges.values(), key=lambda b: (b.app, b.order))


@dataclass(frozen=True)
class Periodic:
    """Work the task worker runs every `every` seconds on its own timer (`core.serving.Periodic`),
    such as sending the outbox's events to webhooks: short, safe to run twice at once, and its own
    transactions."""

    key: str
    run: Callable[[], Any]
    every: float


_periodic: dict[str, Periodic] = {}


def register_periodic(job: Periodic) -> None:
    _periodic[job.key] = job


def periodic_jobs() -> list[Periodic]:
    return list(_periodic.values())
