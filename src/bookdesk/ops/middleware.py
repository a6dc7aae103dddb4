"""Request id + access log, Prometheus request metrics, and security headers."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from bookdesk.ops.logging import request_id_var
from bookdesk.ops.metrics import HTTP_REQUEST_DURATION, HTTP_REQUESTS, HTTP_REQUESTS_IN_PROGRESS

Handler = Callable[[HttpRequest], HttpResponse]

access_logger = logging.getLogger("bookdesk.access")

REQUEST_ID_HEADER = "X-Request-ID"
# A request id from a proxy is kept only if it is a short, plain token (no log injection, no huge values).
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
# Requests that are not worth an access-log line at INFO (probes, scrapes, static assets).
QUIET_PATHS = ("/healthz", "/readyz", "/metrics")


def _user_id(request: HttpRequest) -> int | str | None:
    """The signed-in user's id, without triggering a session/database lookup that did not already happen."""
    user = getattr(request, "user", None)
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", None)
    if wrapped is empty:
        return None
    target = wrapped if wrapped is not None else user
    return getattr(target, "pk", None) if getattr(target, "is_authenticated", False) else None


class RequestIdMiddleware:
    """Gives every request an id (the caller's `X-Request-ID` if sane), logs it, returns it, logs access."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            # The path only: query strings may carry tokens (password reset keys, session ids).
            level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
            access_logger.log(
                level,
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "user_id": _user_id(request),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


def route_label(request: HttpRequest) -> str:
    """The matched URL pattern ("courses/<slug:slug>"), never the raw path, to keep label cardinality low."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return "/" + (match.route or match.view_name or "<unnamed>").lstrip("^").rstrip("$")


class MetricsMiddleware:
    """Counts requests and their latency by method, route pattern and status."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        HTTP_REQUESTS_IN_PROGRESS.inc()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            HTTP_REQUESTS_IN_PROGRESS.dec()
            method = request.method if request.method in KNOWN_METHODS else "OTHER"
            route = route_label(request)
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            HTTP_REQUEST_DURATION.labels(method=method, route=route).observe(time.perf_counter() - started)


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"
# Pages search engines must not index even if linked: accounts, admin, headless auth.
NOINDEX_PREFIXES = ("/accounts/", "/admin/", "/_allauth/")


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} and parts.netloc else None


def content_security_policy() -> str:
    # Forms may redirect to Stripe Checkout (or the local sandbox's hosted page); Chrome applies
    # form-action to the redirect target too.
    form_targets = ["'self'", STRIPE_CHECKOUT_ORIGIN]
    sandbox = _origin(str(getattr(settings, "STRIPE_API_BASE", "") or ""))
    if sandbox and sandbox not in form_targets:
        form_targets.append(sandbox)
    directives = {
        "default-src": "'self'",
        "img-src": "'self' data:",
        "style-src": "'self'",
        "script-src": "'self'",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
        "form-action": " ".join(form_targets),
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeadersMiddleware:
    """CSP and the modern browser-isolation headers; `X-Robots-Tag: noindex` on account and admin pages.

    HSTS, nosniff and the referrer policy come from Django's SecurityMiddleware (settings.py);
    a view that sets its own header keeps it.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), usb=(), payment=()"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.path.startswith(NOINDEX_PREFIXES):
            response.headers.setdefault("X-Robots-Tag", "noindex, nofollow")
        return response
