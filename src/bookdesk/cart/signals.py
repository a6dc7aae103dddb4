"""A visitor's session cart joins the customer's own cart when they sign in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from bookdesk.cart.services import cart_merge


def merge_session_cart(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        cart_merge(request=request, user=user)
