"""What the layout needs on every page: the user's role, jurisdiction and the service menu."""

from django.urls import reverse

from kangfu.core.access import policy

# (app, label, url name, the RolePolicy field that opens it); a service without a url is not open yet.
SERVICES = [
    ("people", "一人一档", "people:list", "reads_people"),
    ("rehab", "精康融合", "rehab:home", "runs_rehab"),
    ("rehab", "精康融合", "rehab:home", "rehab_intake"),
    ("rehab", "精康融合", "rehab:stats", "reads_rehab_stats"),
    ("subsidies", "两项补贴", "subsidies:home", "reads_people"),
    ("matching", "数据比对", "matching:home", "reads_people"),
    ("devices", "辅具租赁", "devices:home", "runs_devices"),
    ("devices", "辅具租赁", "devices:stats", "reads_device_stats"),
    ("reports", "统计", "reports:overview", "reads_people"),
    # Go-live imports: each role sees the kinds its rights allow (people, payroll, devices, 精康 …).
    ("golive", "上线迁移", "golive:home", "runs_payroll"),
    ("golive", "上线迁移", "golive:home", "sets_standards"),
    ("golive", "上线迁移", "golive:home", "runs_devices"),
    ("golive", "上线迁移", "golive:home", "runs_rehab"),
]


def _menu(rights) -> list[tuple[str, str, str | None]]:
    menu: list[tuple[str, str, str | None]] = []
    seen: set[str] = set()
    for app, label, url_name, ability in SERVICES:
        if label in seen or not getattr(rights, ability):
            continue
        seen.add(label)
        menu.append((app, label, reverse(url_name) if url_name else None))
    return menu


def layout(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    rights = policy(user)
    return {"nav_services": _menu(rights), "role_policy": rights}
