"""What the apps contribute to the pages every user sees: menu entries and home-page panels.

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


_menu: list[MenuEntry] = []
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
