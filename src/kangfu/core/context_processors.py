"""What the layout needs on every page: the user's role, jurisdiction and the service menu."""

from django.urls import reverse

from kangfu.core.access import policy
from kangfu.core.registry import menu_entries


def _menu(rights) -> list[tuple[str, str, str | None]]:
    menu: list[tuple[str, str, str | None]] = []
    seen: set[str] = set()
    for entry in menu_entries():
        if entry.label in seen or not getattr(rights, entry.ability):
            continue
        seen.add(entry.label)
        menu.append((entry.app, entry.label, reverse(entry.url_name)))
    return menu


def layout(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    rights = policy(user)
    return {"nav_services": _menu(rights), "role_policy": rights}
