from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "kangfu.devices"
    label = "devices"
    verbose_name = "辅具租赁"

    def ready(self) -> None:
        from kangfu.core.keys import BlindIndex, register_blind_index
        from kangfu.core.registry import MenuEntry, register_menu
        from kangfu.people.services import ID_PURPOSE

        register_blind_index(BlindIndex("devices.RentalRequest", "id_number_hash", "id_number", ID_PURPOSE))
        from kangfu.devices.selectors import person_tab_context
        from kangfu.people import tabs

        register_menu(
            MenuEntry("devices", "辅具租赁", "devices:home", "runs_devices", 50),
        )

        from kangfu.core.registry import Badge, register_badge
        from kangfu.devices import pending

        register_badge(
            Badge("devices", "devices.requests", "待处理的租赁申请", "runs_devices", pending.requests_new),
            Badge(
                "devices",
                "devices.overdue",
                "逾期未还的租赁",
                "runs_devices",
                pending.rentals_overdue,
                overdue=True,
                order=1,
            ),
        )
        tabs.register(tabs.PersonTab("devices", "devices/partials/person_tab.html", person_tab_context))
