from django.apps import AppConfig


class SubsidiesConfig(AppConfig):
    name = "kangfu.subsidies"
    label = "subsidies"
    verbose_name = "两项补贴"

    def ready(self) -> None:
        from kangfu.core import partitions

        # A payroll's lines for its month are a partition of their own (migration 0019).
        partitions.split_by("subsidies_payrollline", "payroll_id")

        from kangfu.core.registry import MenuEntry, register_menu
        from kangfu.people import tabs
        from kangfu.subsidies.selectors import person_tab_context

        register_menu(
            MenuEntry("subsidies", "两项补贴", "subsidies:home", "reads_civil_affairs", 30),
        )
        from kangfu.core.registry import Badge, register_badge
        from kangfu.subsidies import pending

        register_badge(
            Badge(
                "subsidies",
                "subsidies.waiting",
                "待本级审批的申请",
                "reads_civil_affairs",
                pending.applications_waiting,
            ),
        )
        tabs.register(tabs.PersonTab("subsidies", "subsidies/partials/person_tab.html", person_tab_context))
