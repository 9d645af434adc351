from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "kangfu.people"
    label = "people"
    verbose_name = "一人一档"
