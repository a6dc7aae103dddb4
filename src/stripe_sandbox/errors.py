"""Stripe's error object, raised inside the sandbox and rendered by the API layer."""

from __future__ import annotations

from typing import Any

DOC_URL = "https://stripe.com/docs/error-codes/{code}"


class StripeError(Exception):
    """An error the sandbox answers with Stripe's ``{"error": {...}}`` shape.

    ``status`` is the HTTP status; ``type`` one of Stripe's error types
    (``invalid_request_error``, ``card_error``, ``idempotency_error``, ``api_error``,
    ``rate_limit_error``...). ``extra`` adds fields such as ``decline_code`` or
    ``payment_intent`` to the error object.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.extra = extra or {}
        self.headers = headers or []

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            body["code"] = self.code
            body["doc_url"] = DOC_URL.format(code=self.code)
        if self.param is not None:
            body["param"] = self.param
        body.update(self.extra)
        return {"error": body}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    """A 400 ``invalid_request_error`` naming the bad parameter."""
    if code is None and param is not None:
        code = "parameter_invalid"
    return StripeError(message, param=param, code=code)


def missing_param(param: str) -> StripeError:
    return StripeError(f"Missing required param: {param}.", param=param, code="parameter_missing")


def unknown_param(param: str) -> StripeError:
    return StripeError(f"Received unknown parameter: {param}", param=param, code="parameter_unknown")


def resource_missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        f"No such {kind}: '{object_id}'",
        status=404,
        param=param,
        code="resource_missing",
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return StripeError(
        f"Unrecognized request URL ({method}: {path}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        status=404,
    )
