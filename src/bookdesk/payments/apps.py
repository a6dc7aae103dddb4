from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "bookdesk.payments"
    label = "payments"
