from django.apps import AppConfig


class GoliveConfig(AppConfig):
    name = "kangfu.golive"
    label = "golive"
    verbose_name = "上线迁移"

    def ready(self) -> None:
        from kangfu.core.registry import MenuEntry, register_menu

        # Go-live imports: each role sees the kinds its rights allow (people, payroll, devices, 精康 …).
        register_menu(
            *(
                MenuEntry("golive", "上线迁移", "golive:home", ability, 70 + i)
                for i, ability in enumerate(("runs_payroll", "sets_standards", "runs_devices", "runs_rehab"))
            )
        )
        # Each kind registers itself when its module is imported.
        from kangfu.golive.kinds import accounts, devices, people, rehab, standards, subsidies  # noqa: F401
