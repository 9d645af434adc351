from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "kangfu.matching"
    label = "matching"
    verbose_name = "数据比对"

    def ready(self) -> None:
        from kangfu.core.registry import MenuEntry, register_menu

        register_menu(
            MenuEntry("matching", "数据比对", "matching:home", "reads_people", 40),
        )
