from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "bookdesk.payments"
    verbose_name = "Payments"
    label = "payments"

    def ready(self) -> None:
        from bookdesk.payments import documents

        documents.connect()
