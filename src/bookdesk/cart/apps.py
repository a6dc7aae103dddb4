from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "bookdesk.cart"
    label = "cart"
