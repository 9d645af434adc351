from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "kangfu.devices"
    label = "devices"
    verbose_name = "辅具租赁"

    def ready(self) -> None:
        from kangfu.devices.selectors import person_tab_context
        from kangfu.people import tabs

        tabs.register(tabs.PersonTab("devices", "devices/partials/person_tab.html", person_tab_context))
