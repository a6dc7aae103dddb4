from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "bookdesk.notifications"
    verbose_name = "Emails"
    label = "notifications"

    def ready(self) -> None:
        from bookdesk.notifications import receivers

        receivers.connect()
