from django.apps import AppConfig

# Seconds between delivery passes in the worker: an event reaches a receiver that is up within this.
PASS_EVERY = 5.0


class EventsConfig(AppConfig):
    name = "kangfu.events"
    label = "events"
    verbose_name = "业务事件推送"

    def ready(self) -> None:
        from kangfu.core.registry import MenuEntry, Periodic, register_menu, register_periodic
        from kangfu.events.delivery import deliver_due

        # The city's administrators register the other systems' addresses.
        register_menu(MenuEntry("events", "事件推送", "events:webhooks", "sets_standards", 90))
        register_periodic(Periodic("events.deliver", lambda: deliver_due(budget=30.0), PASS_EVERY))
