"""The parameters each ``/v1/`` endpoint accepts: one declarative table per endpoint.

Anything a request sends that its endpoint's table does not list is refused as Stripe refuses it:
400 ``invalid_request_error``, code ``parameter_unknown``, ``param`` naming it with its real indices
(``payment_intent_data[capture_method]``, ``line_items[1][tax_rates]``), message
``Received unknown parameter: …``. The sandbox lists only what it models (or, for a few parameters
other parts of the project send, what it accepts and shows without acting on it): a Stripe parameter
it would silently ignore is refused instead, so that an integration never relies on something the
sandbox does not do.

A path names one parameter in Stripe's bracket notation: ``[]`` is an element of an array,
``[*]`` any key of a free-form map (metadata), ``[**]`` any subtree. ``expand[]`` is accepted
everywhere. The endpoint's own code still checks each value's type and range.

To accept another parameter, add its path to the endpoint's table here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stripe_sandbox.errors import unknown_param

EXPAND = ("expand[]",)
LIST_PAGE = ("limit", "starting_after", "ending_before")
CREATED = ("created", "created[gt]", "created[gte]", "created[lt]", "created[lte]")

_SHIPPING_RATE_DATA = "shipping_options[][shipping_rate_data]"
_ADDRESS = ("city", "country", "line1", "line2", "postal_code", "state")

CHECKOUT_SESSION_CREATE = (
    "mode", "ui_mode", "currency", "success_url", "cancel_url", "client_reference_id",
    "customer_email", "locale", "submit_type", "expires_at", "metadata[*]",
    "payment_method_types[]",
    "payment_intent_data[metadata][*]", "payment_intent_data[description]",
    "payment_intent_data[receipt_email]",
    "line_items[][quantity]",
    "line_items[][price]",  # refused with "No such price" (the sandbox has no Price objects)
    "line_items[][price_data][currency]", "line_items[][price_data][unit_amount]",
    "line_items[][price_data][product]",  # refused: the sandbox has no Product objects
    "line_items[][price_data][product_data][name]",
    "line_items[][price_data][product_data][description]",
    "line_items[][price_data][product_data][metadata][*]",
    # Addresses and shipping (the shop's checkout): accepted and shown on the session.
    "billing_address_collection",
    "shipping_address_collection[allowed_countries][]",
    "shipping_options[][shipping_rate]",
    f"{_SHIPPING_RATE_DATA}[display_name]", f"{_SHIPPING_RATE_DATA}[type]",
    f"{_SHIPPING_RATE_DATA}[tax_behavior]", f"{_SHIPPING_RATE_DATA}[tax_code]",
    f"{_SHIPPING_RATE_DATA}[metadata][*]",
    f"{_SHIPPING_RATE_DATA}[fixed_amount][amount]", f"{_SHIPPING_RATE_DATA}[fixed_amount][currency]",
    f"{_SHIPPING_RATE_DATA}[fixed_amount][currency_options][**]",
    f"{_SHIPPING_RATE_DATA}[delivery_estimate][minimum][unit]",
    f"{_SHIPPING_RATE_DATA}[delivery_estimate][minimum][value]",
    f"{_SHIPPING_RATE_DATA}[delivery_estimate][maximum][unit]",
    f"{_SHIPPING_RATE_DATA}[delivery_estimate][maximum][value]",
)  # fmt: skip

CHECKOUT_SESSION_LIST = (
    *LIST_PAGE, *CREATED, "payment_intent", "status", "client_reference_id", "customer_details[email]",
)  # fmt: skip

# The sandbox's test helper (not a Stripe endpoint): the payment method and, for a delayed one, its
# outcome; the customer's billing and shipping details as the payment page would collect them.
_DETAILS = ("[name]", "[email]", "[phone]", *(f"[address][{part}]" for part in _ADDRESS))
PAY_SESSION = (
    "payment_method", "delayed_outcome", "delay_seconds",
    *(f"billing_details{part}" for part in _DETAILS),
    *(f"shipping_details{part}" for part in _DETAILS),
    "shipping_rate",
)  # fmt: skip

REFUND_CREATE = ("amount", "charge", "payment_intent", "reason", "metadata[*]")
REFUND_LIST = (*LIST_PAGE, *CREATED, "charge", "payment_intent")
CHARGE_LIST = (*LIST_PAGE, *CREATED, "payment_intent")
DISPUTE_LIST = (*LIST_PAGE, *CREATED, "charge", "payment_intent")
EVENT_LIST = (*LIST_PAGE, *CREATED, "type", "types[]")
WEBHOOK_ENDPOINT_CREATE = ("url", "enabled_events[]", "description", "metadata[*]", "api_version")
WEBHOOK_ENDPOINT_UPDATE = ("url", "enabled_events[]", "description", "metadata[*]", "disabled")

# (method, route) → the parameters it accepts, besides ``expand[]``.
TABLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/v1/checkout/sessions"): CHECKOUT_SESSION_CREATE,
    ("GET", "/v1/checkout/sessions"): CHECKOUT_SESSION_LIST,
    ("GET", "/v1/checkout/sessions/{id}"): (),
    ("POST", "/v1/checkout/sessions/{id}/expire"): (),
    ("GET", "/v1/checkout/sessions/{id}/line_items"): LIST_PAGE,
    ("GET", "/v1/payment_intents"): (*LIST_PAGE, *CREATED),
    ("GET", "/v1/payment_intents/{id}"): (),
    ("GET", "/v1/charges"): CHARGE_LIST,
    ("GET", "/v1/charges/{id}"): (),
    ("POST", "/v1/refunds"): REFUND_CREATE,
    ("GET", "/v1/refunds"): REFUND_LIST,
    ("GET", "/v1/refunds/{id}"): (),
    ("GET", "/v1/disputes"): DISPUTE_LIST,
    ("GET", "/v1/disputes/{id}"): (),
    ("GET", "/v1/events"): EVENT_LIST,
    ("GET", "/v1/events/{id}"): (),
    ("POST", "/v1/webhook_endpoints"): WEBHOOK_ENDPOINT_CREATE,
    ("GET", "/v1/webhook_endpoints"): LIST_PAGE,
    ("GET", "/v1/webhook_endpoints/{id}"): (),
    ("POST", "/v1/webhook_endpoints/{id}"): WEBHOOK_ENDPOINT_UPDATE,
    ("DELETE", "/v1/webhook_endpoints/{id}"): (),
    ("POST", "/v1/test_helpers/checkout/sessions/{id}/pay"): PAY_SESSION,
    ("GET", "/v1/shipping_rates/{id}"): (),
    ("POST", "/v1/test_helpers/charges/{id}/dispute"): ("reason", "amount"),
    ("POST", "/v1/test_helpers/disputes"): ("charge", "reason", "amount"),
}


class Spec:
    """A table compiled to a tree of segments: ``line_items[][quantity]`` → line_items / "" / quantity."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.root: dict[str, Any] = {}
        for path in (*paths, *EXPAND):
            node = self.root
            for segment in _segments(path):
                node = node.setdefault(segment, {})

    def check(self, params: dict[str, Any]) -> None:
        """Refuse the first parameter the table does not list (``parameter_unknown``)."""
        _check_map(params, self.root, "")


def _segments(path: str) -> list[str]:
    head, _, rest = path.partition("[")
    return [head, *(rest[:-1].split("][") if rest else [])]


def _check_map(data: dict[str, Any], node: dict[str, Any], prefix: str) -> None:
    if "**" in node:
        return
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else key
        child = node.get(key)
        if child is None:
            child = node.get("*")
        if child is None:
            raise unknown_param(name)
        _check_value(value, child, name)


def _check_value(value: Any, node: dict[str, Any], name: str) -> None:
    # A value of the wrong shape (a string for an object, ...) is the endpoint's to refuse.
    if isinstance(value, dict) and node:
        _check_map(value, node, name)
    elif isinstance(value, list) and "" in node:
        for index, item in enumerate(value):
            _check_value(item, node[""], f"{name}[{index}]")


SPECS: dict[tuple[str, str], Spec] = {key: Spec(paths) for key, paths in TABLES.items()}
