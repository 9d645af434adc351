from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "kangfu.exchange"
    label = "exchange"
    verbose_name = "数据交换"

    def ready(self) -> None:
        from kangfu.core.registry import MenuEntry, register_menu

        # District offices (who run the payroll) and the city office send the files; one label, two
        # abilities, since no single RolePolicy flag names exactly those two roles.
        register_menu(MenuEntry("exchange", "数据交换", "exchange:home", "runs_payroll", 70))
        register_menu(MenuEntry("exchange", "数据交换", "exchange:home", "sets_standards", 70))
