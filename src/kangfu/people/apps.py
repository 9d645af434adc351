from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "kangfu.people"
    label = "people"
    verbose_name = "一人一档"

    def ready(self) -> None:
        from kangfu.core.keys import BlindIndex, register_blind_index
        from kangfu.core.registry import HomePanel, MenuEntry, register_menu, register_panel
        from kangfu.people.selectors import home_panel_context
        from kangfu.people.services import CERT_PURPOSE, ID_PURPOSE, PHONE_PURPOSE

        register_blind_index(
            BlindIndex("people.Person", "id_number_hash", "id_number", ID_PURPOSE),
            BlindIndex("people.Person", "phone_hash", "phone", PHONE_PURPOSE),
            BlindIndex("people.Guardian", "id_number_hash", "id_number", ID_PURPOSE),
            BlindIndex("people.DisabilityCertificate", "number_hash", "number", CERT_PURPOSE),
        )

        register_menu(
            MenuEntry("people", "一人一档", "people:list", "reads_people", 10),
        )
        register_panel(
            HomePanel("people", "people/partials/home_panel.html", "reads_people", 10, home_panel_context)
        )
