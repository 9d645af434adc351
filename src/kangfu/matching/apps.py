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
        from kangfu.core.registry import Badge, register_badge
        from kangfu.matching import pending

        register_badge(
            Badge("matching", "matching.open", "待处理的比对疑点", "reads_civil_affairs", pending.items_open),
            Badge(
                "matching",
                "matching.overdue",
                "逾期未处理的比对疑点",
                "reads_civil_affairs",
                pending.items_overdue,
                overdue=True,
                order=1,
            ),
        )
