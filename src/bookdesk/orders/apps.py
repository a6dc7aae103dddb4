from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "bookdesk.orders"
    label = "orders"
