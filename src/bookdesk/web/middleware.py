"""Renders the project's errors (`bookdesk.errors`) raised by a page as a readable page; refuses malformed requests."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from bookdesk.api.problems import problem
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.errors import BookdeskError, RateLimited
from bookdesk.web.errors import error_page

Handler = Callable[[HttpRequest], HttpResponse]


class ErrorPageMiddleware:
    """A page that raises `NotFound`, `SoldOut`, `RateLimited`… answers with that status and a plain message.

    The API (/api/) renders the same errors as problem+json itself, so they never reach here.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, BookdeskError) or request.path.startswith("/api/"):
            return None
        response = error_page(request, status=exception.status, title=exception.title, detail=exception.detail)
        if isinstance(exception, RateLimited):
            response["Retry-After"] = str(exception.retry_after)
        return response


NUL_DETAIL = "The address holds a NUL character (%00), which no part of this site accepts."
LENGTH_DETAIL = "The Content-Length header is not a number of bytes."


class MalformedRequestMiddleware:
    """A request no client sends is a 400 before any view runs: a path or query string carrying a NUL
    character, or a Content-Length that is not a whole number of bytes.

    No legitimate address has a NUL, and PostgreSQL refuses NUL in text, so a view passing such a value to
    a query would fail with a 500; Django reads Content-Length with `int()` when a view reads the body, so
    a bad one would be a 500 too. API paths get problem+json, pages a readable page.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        detail = _malformed(request)
        if detail is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return problem(request, status=400, code="bad_request", detail=detail)
        return error_page(request, status=400, detail=detail)


def _malformed(request: HttpRequest) -> str | None:
    if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path:
        return NUL_DETAIL
    length = str(request.META.get("CONTENT_LENGTH") or "").strip()
    if length and not (length.isascii() and length.isdigit()):
        return LENGTH_DETAIL
    return None


class AdminTimeZoneMiddleware:
    """The admin works in the business's zone: times shown there, and dates typed there, are local (DESIGN §4).

    Settings keep TIME_ZONE = "UTC" for everything else; pages pick the zone in their templates instead.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(_admin_prefix()):
            return self.get_response(request)
        with timezone.override(business_time_zone()):
            return self.get_response(request)


@functools.cache
def _admin_prefix() -> str:
    return reverse("admin:index")
