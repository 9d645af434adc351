from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "kangfu.reports"
    label = "reports"
    verbose_name = "统计"

    def ready(self) -> None:
        from kangfu.core.registry import MenuEntry, register_menu

        register_menu(
            MenuEntry("reports", "统计", "reports:overview", "reads_civil_affairs", 60),
            # The services' statistics pages are 统计's, but a reader of only one service's figures
            # finds them under that service's menu label (and its badges, keyed by the app).
            MenuEntry("rehab", "精康融合", "reports:rehab_stats", "reads_rehab_stats", 22),
            MenuEntry("devices", "辅具租赁", "reports:devices_stats", "reads_device_stats", 51),
        )
        # The measures register themselves on import; importing them here makes every definition
        # checkable as soon as the app is ready (the admin, the import command, the API).
        from kangfu.reports import measures  # noqa: F401
