"""Checkout Sessions: create, list, line items, and expiry (by the API or at ``expires_at``).

Each write runs in one transaction of the state and records the events Stripe would send.
Paying a session is the payment engine's (:mod:`stripe_sandbox.payments`).
"""

from __future__ import annotations

import re
from typing import Any

from stripe_sandbox import currencies, objects, shipping
from stripe_sandbox.errors import invalid, missing_param
from stripe_sandbox.params import Params
from stripe_sandbox.reads import expand, list_objects, load, paginate
from stripe_sandbox.state import RequestContext, State

SESSION_MIN_LIFETIME = 30 * 60
SESSION_MAX_LIFETIME = 24 * 3600
# A request for exactly "now + 30 min" may arrive a moment later than it was computed.
SESSION_LIFETIME_SLACK = 5


def create_session(state: State, params: Params, ctx: RequestContext) -> dict[str, Any]:
    mode = params.text("mode", required=True, choices=("payment", "setup", "subscription"))
    if mode != "payment":
        raise invalid("The sandbox supports only `mode=payment`.", "mode")
    ui_mode = params.text("ui_mode", choices=("hosted", "embedded", "custom"))
    if ui_mode not in (None, "hosted"):
        raise invalid("The sandbox supports only `ui_mode=hosted`.", "ui_mode")
    success_url = _web_url(params, "success_url")
    cancel_url = _web_url(params, "cancel_url")
    client_reference_id = params.text("client_reference_id", max_length=200)
    customer_email = params.text("customer_email", max_length=800)
    if customer_email is not None and "@" not in customer_email:
        raise invalid(f"Invalid email address: {customer_email}", "customer_email")
    metadata = params.metadata()
    locale = params.text("locale")
    submit_type = params.text("submit_type", choices=("auto", "book", "donate", "pay", "subscribe"))
    method_types = params.strings("payment_method_types")
    intent_data = params.child("payment_intent_data")
    intent_settings: dict[str, Any] = {"metadata": {}, "description": None}
    if intent_data is not None:
        intent_settings["metadata"] = intent_data.metadata()
        intent_settings["description"] = intent_data.text("description", max_length=1000)
        intent_settings["receipt_email"] = intent_data.text("receipt_email")

    now = int(state.now())
    expires_at = params.integer("expires_at")
    if expires_at is None:
        expires_at = now + SESSION_MAX_LIFETIME
    elif expires_at < now + SESSION_MIN_LIFETIME - SESSION_LIFETIME_SLACK:
        raise invalid(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
            "expires_at",
        )
    elif expires_at > now + SESSION_MAX_LIFETIME:
        raise invalid(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            "expires_at",
        )

    line_items = [_line_item(item, now) for item in params.children("line_items", required=True)]
    currency = line_items[0]["currency"]
    for index, item in enumerate(line_items):
        if item["currency"] != currency:
            raise invalid(
                "All line items must use the same currency.",
                f"line_items[{index}][price_data][currency]",
            )
    explicit_currency = params.text("currency")
    if explicit_currency is not None and currencies.check_currency(explicit_currency, "currency") != currency:
        raise invalid("`currency` must match the line items' currency.", "currency")
    total = sum(item["amount_total"] for item in line_items)
    currencies.check_total(total, currency, "line_items")
    if method_types:
        currencies.check_payment_method_types(method_types, currency, "payment_method_types")
    else:
        method_types = currencies.dynamic_payment_methods(currency)
    address_collection = shipping.read_address_collection(params)
    billing_collection = shipping.read_billing_collection(params)

    session = objects.checkout_session(
        session_id=objects.new_id("cs_test_a1", 56),
        created=now,
        expires_at=expires_at,
        amount_total=total,
        currency=currency,
        success_url=success_url,
        cancel_url=cancel_url,
        client_reference_id=client_reference_id,
        customer_email=customer_email,
        metadata=metadata,
        payment_method_types=method_types,
        locale=locale,
        submit_type=submit_type,
    )
    session["_line_items"] = line_items
    session["_payment_intent_data"] = intent_settings
    session["billing_address_collection"] = billing_collection
    with state.transaction():
        rates = shipping.read_options(state, params, currency=currency, now=now)
        shipping.attach(session, rates, address_collection)
        for rate in rates:
            state.store.put(rate)
        state.store.put(session)
        state.store.set_timer(session["id"], "expire", expires_at)
    return expand(state, session, params.strings("expand"))


def _web_url(params: Params, key: str) -> str | None:
    url = params.text(key, max_length=5000)
    if url is not None and not re.match(r"^https?://[^\s/]+", url):
        raise invalid(f"Not a valid URL: {key} must be an http(s) URL.", key, "url_invalid")
    return url


def _line_item(item: Params, now: int) -> dict[str, Any]:
    if item.has("price"):
        price = item.text("price") or ""
        raise invalid(
            f"No such price: '{price}'. The sandbox supports `price_data` only.",
            item.name("price"),
            "resource_missing",
        )
    price_data = item.child("price_data")
    if price_data is None:
        raise invalid(
            "You must specify either `price` or `price_data` for each line item.",
            item.name("price_data"),
            "parameter_missing",
        )
    currency = currencies.check_currency(price_data.text("currency", required=True) or "", price_data.name("currency"))
    unit_amount = price_data.integer("unit_amount", minimum=0, maximum=currencies.MAXIMUM_AMOUNT)
    if unit_amount is None:
        raise missing_param(price_data.name("unit_amount"))
    currencies.check_unit_amount(unit_amount, currency, price_data.name("unit_amount"))
    if price_data.has("product"):
        raise invalid("The sandbox supports `product_data` only.", price_data.name("product"))
    product = price_data.child("product_data", required=True) or Params({})
    name = product.text("name", required=True, max_length=250) or ""
    quantity = item.integer("quantity", minimum=1, maximum=999_999)
    if quantity is None:
        raise missing_param(item.name("quantity"))
    return objects.line_item(
        created=now,
        currency=currency,
        unit_amount=unit_amount,
        quantity=quantity,
        name=name,
        description=product.text("description", max_length=40000),
        product_metadata=product.metadata(),
    )


def list_sessions(state: State, params: Params) -> dict[str, Any]:
    details = params.child("customer_details")
    email = details.text("email") if details is not None else None
    return list_objects(
        state,
        "checkout.session",
        "/v1/checkout/sessions",
        params,
        filters={
            "payment_intent": params.text("payment_intent"),
            "status": params.text("status", choices=("open", "complete", "expired")),
            "client_reference_id": params.text("client_reference_id"),
            "customer_details.email": email,
        },
    )


def session_line_items(state: State, session_id: str, params: Params) -> dict[str, Any]:
    with state.lock:
        session = load(state, "checkout.session", session_id, "session")
        return paginate(
            session["_line_items"],
            params,
            f"/v1/checkout/sessions/{session_id}/line_items",
            objects.public,
        )


def expire_session(
    state: State,
    session_id: str,
    ctx: RequestContext,
    *,
    automatic: bool = False,
) -> dict[str, Any]:
    """Expire an open session (API call or its ``expires_at`` passing), as Stripe does."""
    with state.transaction():
        session = load(state, "checkout.session", session_id, "session")
        if session["status"] != "open":
            if automatic:
                return session
            raise invalid(
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f"This session has status `{session['status']}`.",
                "session",
            )
        session["status"] = "expired"
        if session["payment_intent"]:
            intent = state.store.get(session["payment_intent"], "payment_intent")
            if intent is not None and intent["status"] in (
                "requires_payment_method",
                "requires_action",
                "requires_confirmation",
            ):
                intent["status"] = "canceled"
                intent["canceled_at"] = int(state.now())
                intent["cancellation_reason"] = "abandoned"
                intent["next_action"] = None
                state.store.put(intent)
                state.emit("payment_intent.canceled", intent, ctx)
        state.store.put(session)
        state.store.clear_timer(session_id)
        state.emit("checkout.session.expired", session, ctx)
        return session
