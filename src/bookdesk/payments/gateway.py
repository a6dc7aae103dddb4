"""The one place bookdesk talks to Stripe (or the sandbox, by `STRIPE_API_BASE`), through the official SDK.

Every call has a timeout; transient failures (network, 409, 429, 5xx) are retried with exponential
backoff under the same idempotency key, so a retry can never create a second object. Callers get a
`PaymentProviderError` whose `permanent` flag says whether trying again later can help.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import stripe
import urllib3
from django.conf import settings

from bookdesk.errors import PaymentProviderError
from bookdesk.ops.config import live_key_off_stripe

logger = logging.getLogger("bookdesk.payments.gateway")
T = TypeVar("T")

# Stripe's metadata limits.
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY = 40
METADATA_MAX_VALUE = 500


class SessionStatus(StrEnum):
    """A Checkout Session's `status`, as Stripe sends it."""

    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


class GatewayError(PaymentProviderError):
    def __init__(self, detail: str, *, permanent: bool, stripe_code: str | None = None) -> None:
        super().__init__(detail)
        self.permanent = permanent
        self.stripe_code = stripe_code


@dataclass(frozen=True)
class SessionLine:
    name: str
    unit_amount: int
    quantity: int
    description: str = ""


@dataclass(frozen=True)
class SessionShippingOption:
    """A fixed-amount shipping option created inline with the session (`shipping_rate_data`)."""

    display_name: str
    amount: int
    min_days: int | None = None
    max_days: int | None = None


@dataclass(frozen=True)
class OpenedSession:
    """What checkout needs of a Checkout Session it just created: its id and the payment page's address."""

    id: str
    url: str


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0

    def delay(self, attempt: int) -> float:
        # Full jitter keeps many retrying clients from hammering Stripe in step.
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))  # noqa: S311


DEFAULT_RETRY = RetryPolicy()
_clients: dict[tuple[str, str, float], stripe.StripeClient] = {}


class PooledHTTPClient(stripe.HTTPClient):
    """The SDK's transport on one thread-safe urllib3 pool: keep-alive connections shared by every thread.

    What the SDK's default `RequestsClient` does, without requests' per-call session and environment
    merging (a third of the SDK's CPU per call). Stripe's own CA bundle; HTTPS_PROXY is honoured.
    """

    name = "urllib3"

    def __init__(self, *, connect_timeout: float, read_timeout: float) -> None:
        super().__init__()
        options: dict[str, Any] = {
            "maxsize": 64,  # connections kept per host: one per concurrent caller is plenty
            "timeout": urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            "retries": False,  # the gateway retries, with backoff, under one idempotency key
            "ca_certs": stripe.ca_bundle_path,
        }
        proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
        self._pool = urllib3.ProxyManager(proxy, **options) if proxy else urllib3.PoolManager(**options)

    def request(  # type: ignore[override]  # the SDK takes bytes as its own clients return them
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None, **_: Any
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            answer = self._pool.request(method.upper(), url, headers=headers, body=post_data, redirect=False)
        except urllib3.exceptions.HTTPError as exc:
            # Connection refused or reset, timeouts, a broken answer: worth another try (the SDK's own rule).
            raise stripe.APIConnectionError(
                f"Could not reach Stripe ({type(exc).__name__}: {exc})", should_retry=True
            ) from exc
        return answer.data, answer.status, answer.headers

    def close(self) -> None:
        self._pool.clear()


def client() -> stripe.StripeClient:
    """A shared SDK client for the configured key and base address (thread-safe, keeps connections)."""
    key = (settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, float(getattr(settings, "STRIPE_TIMEOUT", 15)))
    if key not in _clients:
        if live_key_off_stripe(str(key[0] or ""), str(key[1] or "")):
            # Refused at start too (`ops.config`); here so that a live key never leaves for another host.
            raise GatewayError("A live Stripe key is only ever sent to Stripe's own API.", permanent=True)
        base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        _clients[key] = stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=0,  # we retry ourselves, with backoff, under one idempotency key
            http_client=PooledHTTPClient(connect_timeout=3.05, read_timeout=key[2]),
        )
    return _clients[key]


def _is_transient(exc: stripe.StripeError) -> bool:
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    status = exc.http_status or 0
    return status in (409, 429) or status >= 500


def call_with_retries(operation: str, fn: Callable[[], T], *, policy: RetryPolicy = DEFAULT_RETRY) -> T:
    for attempt in range(policy.attempts):
        try:
            return fn()
        except stripe.StripeError as exc:
            transient = _is_transient(exc)
            last_try = attempt == policy.attempts - 1
            logger.warning(
                "stripe %s failed (attempt %d/%d, %s): %s",
                operation,
                attempt + 1,
                policy.attempts,
                "transient" if transient else "permanent",
                exc.user_message or type(exc).__name__,
            )
            if not transient or last_try:
                raise GatewayError(
                    _customer_message(operation, transient=transient), permanent=not transient, stripe_code=exc.code
                ) from exc
            time.sleep(policy.delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _customer_message(operation: str, *, transient: bool) -> str:
    if operation.startswith("refunds"):
        if transient:
            return "The payment provider is not answering right now, so the refund was not made; try again in a minute."
        return "The payment provider refused this refund; see the payment in Stripe's dashboard."
    if transient:
        return "The payment provider is not answering right now. Nothing was charged; please try again in a minute."
    return "The payment provider refused to start this payment. Nothing was charged."


def fit_metadata(values: Mapping[str, Any]) -> dict[str, str]:
    """Metadata within Stripe's limits: at most 50 keys of ≤ 40 chars, values of ≤ 500 chars."""
    fitted: dict[str, str] = {}
    for key, value in values.items():
        if len(fitted) == METADATA_MAX_KEYS:
            break
        text = "" if value is None else str(value)
        if len(text) > METADATA_MAX_VALUE:
            text = text[: METADATA_MAX_VALUE - 1] + "…"
        fitted[str(key)[:METADATA_MAX_KEY]] = text
    return fitted


def create_checkout_session(
    *,
    order_code: str,
    attempt: int,
    currency: str,
    lines: Sequence[SessionLine],
    customer_email: str,
    expires_at: datetime,
    success_url: str,
    cancel_url: str,
    metadata: Mapping[str, Any],
    shipping_countries: Sequence[str] = (),
    shipping_options: Sequence[SessionShippingOption] = (),
    policy: RetryPolicy = DEFAULT_RETRY,
) -> OpenedSession:
    """Create the session through the SDK's own requestor (auth, API version, idempotency, Stripe's errors).

    `raw_request` leaves out only the conversion of the whole answer into SDK objects, which checkout never
    reads and which cost about as much CPU as the rest of the call together; we read two fields of it.
    """
    params: dict[str, Any] = {
        "mode": "payment",
        "client_reference_id": order_code,
        "customer_email": customer_email,
        "expires_at": int(expires_at.timestamp()),
        "success_url": success_url,
        "cancel_url": cancel_url,
        "metadata": fit_metadata(metadata),
        "payment_intent_data": {"metadata": fit_metadata({"order": order_code})},
        "line_items": [
            {
                "quantity": line.quantity,
                "price_data": {
                    "currency": currency,
                    "unit_amount": line.unit_amount,
                    "product_data": {
                        "name": line.name[:250],
                        **({"description": line.description} if line.description else {}),
                    },
                },
            }
            for line in lines
        ],
    }
    if shipping_countries:
        params["shipping_address_collection"] = {"allowed_countries": list(shipping_countries)}
    if shipping_options:
        params["shipping_options"] = [_shipping_rate_data(option, currency) for option in shipping_options]
    key = f"checkout:{order_code}:{attempt}"
    answer = call_with_retries(
        "checkout.sessions.create",
        lambda: client().raw_request("post", "/v1/checkout/sessions", idempotency_key=key, **params),
        policy=policy,
    )
    session = answer.data
    return OpenedSession(id=str(session["id"]), url=str(session.get("url") or ""))


def _shipping_rate_data(option: SessionShippingOption, currency: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "fixed_amount",
        "display_name": option.display_name[:100],
        "fixed_amount": {"amount": option.amount, "currency": currency},
    }
    if option.min_days and option.max_days:
        data["delivery_estimate"] = {
            "minimum": {"unit": "business_day", "value": option.min_days},
            "maximum": {"unit": "business_day", "value": option.max_days},
        }
    return {"shipping_rate_data": data}


def retrieve_session(session_id: str) -> stripe.checkout.Session:
    return call_with_retries(
        "checkout.sessions.retrieve",
        lambda: client().v1.checkout.sessions.retrieve(session_id, params={"expand": ["line_items", "payment_intent"]}),
    )


def session_of_intent(payment_intent: str) -> stripe.checkout.Session | None:
    """The Checkout Session that this PaymentIntent paid, as Stripe says; None if none did (not a Checkout payment)."""
    page = call_with_retries(
        "checkout.sessions.list",
        lambda: client().v1.checkout.sessions.list(params={"payment_intent": payment_intent, "limit": 1}),
    )
    return page.data[0] if page.data else None


def expire_session(session_id: str) -> stripe.checkout.Session | None:
    """Expire an open session; a session that is no longer open is left as it is (returns None)."""
    try:
        return call_with_retries("checkout.sessions.expire", lambda: client().v1.checkout.sessions.expire(session_id))
    except GatewayError as exc:
        if exc.permanent:
            return None
        raise


def create_refund(
    *, payment_intent: str, amount: int | None, idempotency_key: str, reason: str = "requested_by_customer"
) -> stripe.Refund:
    params: dict[str, Any] = {"payment_intent": payment_intent, "reason": reason}
    if amount is not None:
        params["amount"] = amount
    return call_with_retries(
        "refunds.create",
        lambda: client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key}),  # type: ignore[arg-type]
    )
