"""Tabs that the services add to a person's record.

The registry knows nothing of the services built on it; each service registers its tab when its app
is ready, with a template and a function that gives the template its (scoped) data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PersonTab:
    key: str
    template: str
    context: Callable[[Any, Any], dict]  # (request, person) -> template context


_registered: dict[str, PersonTab] = {}


def register(tab: PersonTab) -> None:
    _registered[tab.key] = tab


def get(key: str) -> PersonTab | None:
    return _registered.get(key)
