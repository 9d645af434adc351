from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "kangfu.matching"
    label = "matching"
    verbose_name = "数据比对"

    def ready(self) -> None:
        from kangfu.core.keys import BlindIndex, register_blind_index
        from kangfu.core.registry import MenuEntry, register_menu
        from kangfu.people.services import ID_PURPOSE

        register_blind_index(BlindIndex("matching.FeedRow", "id_hash", "id_number", ID_PURPOSE))

        register_menu(
            MenuEntry("matching", "数据比对", "matching:home", "reads_civil_affairs", 40),
        )
