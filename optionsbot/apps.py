from django.apps import AppConfig


class OptionsbotConfig(AppConfig):
    name = "optionsbot"
    verbose_name = "optionsbot"
