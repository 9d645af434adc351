from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kangfu.core"
    label = "core"
    verbose_name = "基础"

    def ready(self) -> None:
        from kangfu.core import checks, signals  # noqa: F401  (registers the checks, connects the login audit receivers)
        from kangfu.core.tables import remember_cell_signatures

        remember_cell_signatures()
