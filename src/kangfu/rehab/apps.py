from django.apps import AppConfig
from django.db.models.signals import post_migrate

# Seconds between passes that plan the recurring groups' meetings ahead: each pass adds only the days
# that came into the four-week window, so hourly is cheap and a stopped worker catches up at once.
PLAN_GROUPS_EVERY = 3600.0


def _load_scales(sender, **kwargs) -> None:
    from kangfu.rehab import scales

    scales.load()


class RehabConfig(AppConfig):
    name = "kangfu.rehab"
    label = "rehab"
    verbose_name = "精康融合行动"

    def ready(self) -> None:
        from kangfu.core import access
        from kangfu.core.registry import MenuEntry, Periodic, register_menu, register_periodic
        from kangfu.people import tabs
        from kangfu.rehab.selectors import people_served_q, person_tab_context

        register_menu(
            MenuEntry("rehab", "精康融合", "rehab:home", "runs_rehab", 20),
            MenuEntry("rehab", "精康融合", "rehab:home", "rehab_intake", 21),
        )

        from kangfu.core.registry import Badge, register_badge
        from kangfu.rehab import pending

        register_badge(
            Badge("rehab", "rehab.follow_ups", "今天及逾期应随访", "runs_rehab", pending.follow_ups_due),
            Badge(
                "rehab", "rehab.screening", "待筛查的转介", "runs_rehab", pending.referred_to_screen, order=1
            ),
            Badge(
                "rehab", "rehab.intake", "待初核或转介的申请", "rehab_intake", pending.applications_to_handle
            ),
        )
        from kangfu.rehab.services.groups import meetings_generate

        register_periodic(Periodic("rehab.group_meetings", lambda: meetings_generate(), PLAN_GROUPS_EVERY))
        tabs.register(tabs.PersonTab("rehab", "rehab/partials/person_tab.html", person_tab_context))
        access.register_served(people_served_q)
        # The scale files are part of the release: every migrate brings the database up to them.
        post_migrate.connect(_load_scales, sender=self, dispatch_uid="rehab_load_scales")
