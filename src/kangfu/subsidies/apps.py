from django.apps import AppConfig


class SubsidiesConfig(AppConfig):
    name = "kangfu.subsidies"
    label = "subsidies"
    verbose_name = "两项补贴"
