import functools
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from bookdesk.cart.services import cart_for_request


def cart_count(request: HttpRequest) -> int:
    """How many items the visitor's cart holds (for the header); never creates a cart."""
    if not hasattr(request, "user") or not hasattr(request, "session"):
        return 0
    cart = cart_for_request(request, create=False)
    return cart.items.count() if cart is not None else 0


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "site_name": settings.BOOKDESK_NAME,
        "site_url": settings.SITE_URL,
        # Pages show times in the business's zone (base.html wraps the body in {% timezone %}).
        "business_time_zone": settings.BOOKDESK_TIME_ZONE,
        # A callable: templates call it only where they show it, so other responses pay no query.
        "cart_count": functools.partial(cart_count, request),
    }
