"""What the layout needs on every page: the user's role, jurisdiction and the service menu."""

from kangfu.core.access import policy

SERVICES = [
    ("people", "一人一档", "people:list"),
    ("rehab", "精康融合", None),
    ("subsidies", "两项补贴", None),
    ("matching", "数据比对", None),
    ("devices", "辅具租赁", None),
    ("reports", "统计", "reports:overview"),
]


def layout(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_services": SERVICES, "role_policy": policy(user)}
