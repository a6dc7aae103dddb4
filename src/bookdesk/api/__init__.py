"""The JSON API: one NinjaAPI and its routers, each a thin shell over one app's services and selectors.

Errors are rendered by `bookdesk.api.problems` (problem+json); the routers live beside this file, one
per part of the API, and their request and answer shapes in `bookdesk.api.schemas`.
"""

from __future__ import annotations

from bookdesk.api import bookings, cart, catalog, checkout, documents, orders
from bookdesk.api.problems import BookdeskAPI, FieldError, Problem, ProblemJsonMiddleware, problem

__all__ = ["FieldError", "Problem", "ProblemJsonMiddleware", "api", "problem"]

api = BookdeskAPI(
    title="bookdesk API",
    version="1",
    description=(
        "Courses, studio time and digital goods: catalog, cart, checkout and bookings. "
        "Authenticate with the allauth headless app session token in `X-Session-Token` "
        "(from `POST /_allauth/app/v1/auth/login`), or the session cookie plus CSRF token. "
        "Every error is `application/problem+json` with a stable `code`."
    ),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


api.add_router("", catalog.router)
api.add_router("", cart.router)
api.add_router("", checkout.router)
api.add_router("", orders.router)
api.add_router("", documents.router)
api.add_router("", bookings.router)
