"""Decorators for pages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

View = Callable[..., HttpResponse]

NOINDEX = "noindex, nofollow"


def noindex(view: View) -> View:
    """Tell search engines not to index the page (`X-Robots-Tag`), whatever the response."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = NOINDEX
        return response

    return wrapper


def protected_page(view: View) -> View:
    """A page for the signed-in customer only: sign-in required, never indexed, never cached by proxies."""
    required = login_required(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = required(request, *args, **kwargs)
        response["X-Robots-Tag"] = NOINDEX
        patch_cache_control(response, private=True, no_store=True)
        return response

    return wrapper
