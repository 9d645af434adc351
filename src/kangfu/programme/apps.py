from django.apps import AppConfig


class ProgrammeConfig(AppConfig):
    """精康 as a funded programme: funds, purchased-service contracts, supervision and assessment."""

    name = "kangfu.programme"
    label = "programme"
    verbose_name = "精康项目"

    def ready(self) -> None:
        from kangfu.core.registry import MenuEntry, register_menu

        # Civil-affairs administrators manage the money and the contracts; an institution's staff
        # see their own contracts and ask for payment.
        register_menu(
            MenuEntry("programme", "精康项目", "programme:contracts", "reads_rehab_stats", 23),
            MenuEntry("programme", "精康项目", "programme:contracts", "runs_rehab", 24),
        )
