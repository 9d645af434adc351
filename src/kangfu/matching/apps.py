from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "kangfu.matching"
    label = "matching"
    verbose_name = "数据比对"
