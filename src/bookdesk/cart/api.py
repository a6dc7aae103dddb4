"""The caller's cart: thin shells over the cart's selectors and services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from bookdesk.accounts.auth import user_auth
from bookdesk.cart.schemas import CartOut
from bookdesk.errors import Problem
from bookdesk.money import money

router = Router(tags=["cart"])


@router.get("/cart", response={200: CartOut, 401: Problem}, auth=user_auth, summary="The caller's cart")
def cart_detail(request: HttpRequest) -> dict[str, Any]:
    # No cart lines are stored yet (checkout adds them); the shape is the final one.
    return {"items": [], "subtotal": money(0, settings.BOOKDESK_CURRENCY), "count": 0}
