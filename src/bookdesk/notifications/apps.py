from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "bookdesk.notifications"
    label = "notifications"
