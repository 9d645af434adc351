from django.apps import AppConfig


class ProgrammeConfig(AppConfig):
    """精康 as a funded programme: funds, purchased-service contracts, supervision and assessment."""

    name = "kangfu.programme"
    label = "programme"
    verbose_name = "精康项目"
