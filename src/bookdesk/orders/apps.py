from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "bookdesk.orders"
    verbose_name = "Orders & bookings"
    label = "orders"
