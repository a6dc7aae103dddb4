"""Readable error pages (the project's handler400/403/404/500 live in `bookdesk.web.views`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    429: "Too many requests",
    500: "Something went wrong",
}
DETAILS = {
    400: "The request could not be understood. Check the address and try again.",
    403: "You do not have access to this page. If you think you should, sign in and try again.",
    404: "There is nothing at this address. It may have moved, or the offer is no longer listed.",
    429: "You are going a little fast. Wait a moment and try again.",
    500: "An unexpected error occurred on our side. It has been logged; please try again shortly.",
}


def error_page(
    request: HttpRequest, *, status: int, title: str | None = None, detail: str | None = None
) -> HttpResponse:
    context = {
        "status": status,
        "title": title or TITLES.get(status, "Error"),
        "detail": detail or DETAILS.get(status, ""),
    }
    response = render(request, "web/error.html", context, status=status)
    response["X-Robots-Tag"] = "noindex"
    return response


def server_error_page() -> HttpResponse:
    """The 500 page renders without the request context: the error may lie in a context processor."""
    html = loader.get_template("500.html").render({"title": TITLES[500], "detail": DETAILS[500]})
    return HttpResponse(html, status=500)
