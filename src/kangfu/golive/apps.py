from django.apps import AppConfig


class GoliveConfig(AppConfig):
    name = "kangfu.golive"
    label = "golive"
    verbose_name = "上线迁移"

    def ready(self) -> None:
        # Each kind registers itself when its module is imported.
        from kangfu.golive.kinds import accounts, devices, people, rehab, standards, subsidies  # noqa: F401
