"""Who may use the console, and the decorators every console page and action wears.

A page needs an active staff user with `orders.view_order` (superusers have it; so does the "operator"
group). Anonymous visitors go to the sign-in page; a signed-in customer gets the 403 page. An action needs
its own permission as well, and is a POST.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST

from bookdesk.web.decorators import NOINDEX
from bookdesk.web.errors import error_page

View = Callable[..., HttpResponseBase]
CONSOLE_PERMISSION = "orders.view_order"
# What each action needs on top of the console itself.
REFUND = "payments.add_refund"
REPLAY_EVENT = "payments.change_webhookevent"
RETRY_EMAIL = "notifications.change_outgoingemail"
RESOLVE_REVIEW = "orders.change_order"
CHECK_IN = "orders.change_booking"
SHIP = "orders.change_shipment"  # a parcel shipped with its tracking, or delivered


def can_use_console(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.has_perm(CONSOLE_PERMISSION))


def actor(request: HttpRequest) -> str:
    """The audit log's name for the operator acting."""
    return f"staff:{request.user.pk}"


def _not_allowed(request: HttpRequest, detail: str) -> HttpResponse:
    return error_page(request, status=403, title="Not allowed", detail=detail)


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["X-Robots-Tag"] = NOINDEX
    patch_cache_control(response, private=True, no_store=True)
    return response


def console_page(view: View) -> View:
    """A console page: staff with the console's permission only, never indexed or cached."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return _private(redirect_to_login(request.get_full_path()))
        if not can_use_console(request.user):
            return _private(_not_allowed(request, "The console is for the shop's staff. Sign in with a staff account."))
        return _private(view(request, *args, **kwargs))

    return wrapper


def console_action(permission: str) -> Callable[[View], View]:
    """A console action (POST): the console's permission and `permission` too."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return _private(redirect_to_login(request.get_full_path()))
            if not can_use_console(request.user) or not request.user.has_perm(permission):
                return _private(_not_allowed(request, "Your account may not do this. Ask the shop's owner."))
            return _private(view(request, *args, **kwargs))

        return require_POST(wrapper)

    return decorate
