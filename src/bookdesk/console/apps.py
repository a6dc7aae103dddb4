from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "bookdesk.console"
    label = "console"
    verbose_name = "Operator console"
