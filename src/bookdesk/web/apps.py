from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "bookdesk.web"
    label = "web"
