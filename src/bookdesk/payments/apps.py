from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "bookdesk.payments"
    label = "payments"

    def ready(self) -> None:
        from bookdesk.payments import documents

        documents.connect()
