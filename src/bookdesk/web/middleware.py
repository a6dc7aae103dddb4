"""Renders the project's errors (`bookdesk.errors`) raised by a page as a readable page; refuses NUL in URLs."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

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


class NulInUrlMiddleware:
    """A path or query string carrying a NUL character is a 400 before any view runs.

    No legitimate address has one, and PostgreSQL refuses NUL in text, so a view passing such a value to a
    query would fail with a 500. API paths get problem+json, pages a readable page.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "%00" not in request.META.get("QUERY_STRING", "") and "\x00" not in request.path:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            from bookdesk.api import problem

            return problem(request, status=400, code="bad_request", detail=NUL_DETAIL)
        return error_page(request, status=400, detail=NUL_DETAIL)
