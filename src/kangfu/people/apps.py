from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "kangfu.people"
    label = "people"
    verbose_name = "一人一档"

    def ready(self) -> None:
        from kangfu.core.registry import HomePanel, MenuEntry, register_menu, register_panel
        from kangfu.people.selectors import home_panel_context

        register_menu(
            MenuEntry("people", "一人一档", "people:list", "reads_people", 10),
        )
        register_panel(
            HomePanel("people", "people/partials/home_panel.html", "reads_people", 10, home_panel_context)
        )
