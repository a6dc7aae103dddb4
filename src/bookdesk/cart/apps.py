from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "bookdesk.cart"
    verbose_name = "Carts"
    label = "cart"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from bookdesk.cart.signals import merge_session_cart

        user_logged_in.connect(merge_session_cart, dispatch_uid="bookdesk.cart.merge_session_cart")
