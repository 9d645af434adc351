from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kangfu.core"
    label = "core"
    verbose_name = "基础"

    def ready(self) -> None:
        from kangfu.core import checks, partitions, signals  # noqa: F401  (registers the checks, connects the login audit receivers)
        from kangfu.core.registry import Periodic, register_periodic
        from kangfu.core.tables import remember_cell_signatures, remember_column_templates

        remember_cell_signatures()
        remember_column_templates()

        # On PostgreSQL, the partitions of the coming months and of new districts (none on SQLite).
        register_periodic(Periodic("core.partitions", partitions.run_periodic, partitions.EVERY))
