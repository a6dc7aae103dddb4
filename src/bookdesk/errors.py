"""One error hierarchy; each error has a stable `code`, an HTTP status and a plain message.

The API turns any of them into problem+json (RFC 9457) in one place (`bookdesk.api`); the full
list of codes a client can meet is in docs/api-errors.md. Codes are a contract: add new ones,
never rename or reuse one.
"""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema


class BookdeskError(Exception):
    code = "error"
    status = 400
    title = "Request could not be completed"

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None) -> None:
        self.detail = detail or self.title
        self.errors = errors or []
        super().__init__(self.detail)


class InvalidInput(BookdeskError):
    code = "invalid"
    status = 422
    title = "The request is not valid"


class NotFound(BookdeskError):
    code = "not_found"
    status = 404
    title = "Not found"


class BadRequest(BookdeskError):
    code = "bad_request"
    status = 400
    title = "Bad request"


class InvalidJson(BadRequest):
    code = "invalid_json"
    title = "The request body is not valid JSON"


class NotAuthenticated(BookdeskError):
    code = "not_authenticated"
    status = 401
    title = "Sign-in required"


class CsrfFailed(BookdeskError):
    code = "csrf_failed"
    status = 403
    title = "CSRF check failed"


class PermissionDenied(BookdeskError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class MethodNotAllowed(BookdeskError):
    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"


class PayloadTooLarge(BookdeskError):
    code = "payload_too_large"
    status = 413
    title = "The request body is too large"


class Conflict(BookdeskError):
    code = "conflict"
    status = 409
    title = "Conflict"


class SoldOut(Conflict):
    code = "sold_out"
    title = "Sold out"


class AlreadyBooked(Conflict):
    code = "already_booked"
    title = "Already booked"


class SlotTaken(Conflict):
    code = "slot_taken"
    title = "Slot taken"


class NotBookable(Conflict):
    code = "not_bookable"
    title = "This can no longer be booked"


class QuantityNotAllowed(Conflict):
    """The quantity is well-formed but not for this item (a seat, a slot and a licence are bought once)."""

    code = "quantity_not_allowed"
    title = "That quantity cannot be bought"


class CartEmpty(Conflict):
    code = "cart_empty"
    title = "The cart is empty"


class HoldExpired(Conflict):
    code = "hold_expired"
    title = "The hold has expired"


class TooManyUnpaidOrders(Conflict):
    code = "too_many_unpaid_orders"
    title = "Too many unpaid orders"


class EmailNotVerified(PermissionDenied):
    code = "email_not_verified"
    title = "Verify your email address first"


class RateLimited(BookdeskError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class PaymentProviderError(BookdeskError):
    code = "payment_provider_error"
    status = 502
    title = "The payment provider could not be reached"


class FieldError(Schema):
    field: str
    # "in" is a Python keyword; the wire name stays "in".
    in_: str = Field(alias="in", description="query, path, body, header, cookie or form")
    message: str


class Problem(Schema):
    """The wire shape of every API error (RFC 9457); declare it for an operation's error statuses."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    errors: list[FieldError] | None = None


def problems(*statuses: int) -> dict[int, type[Problem]]:
    """Document error statuses of an operation: `response={201: Out, **problems(401, 409)}`."""
    return dict.fromkeys(statuses, Problem)


# What every signed-in write may answer besides success.
WRITE_PROBLEMS = problems(401, 403, 404, 409, 422, 429)
# … and one that calls Stripe, which may be unreachable.
PAYING_PROBLEMS = problems(401, 403, 404, 409, 422, 429, 502)
