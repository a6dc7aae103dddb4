"""Builders for the Stripe objects the sandbox serves, with every field Stripe's own
fixture of the same object carries. Keys starting with ``_`` are the sandbox's private
bookkeeping and never leave it (see :func:`public`). Charges, refunds and disputes are built in
:mod:`stripe_sandbox.charge_objects`."""

from __future__ import annotations

import json
import os
import string
from typing import Any

API_VERSION = "2026-10-28.endive"

_ALPHABET = string.ascii_letters + string.digits
# Random bytes map onto the alphabet in C: byte b is symbol b % 62, and the bytes from 248 up are
# dropped so that every symbol stays equally likely (248 = 4 x 62). One urandom call per id
# instead of one per symbol (secrets.choice).
_USABLE_BYTES = 256 - 256 % len(_ALPHABET)
_BYTE_TO_SYMBOL = (_ALPHABET * (256 // len(_ALPHABET) + 1))[:256].encode()
_UNUSABLE_BYTES = bytes(range(_USABLE_BYTES, 256))


def new_id(prefix: str, length: int = 24) -> str:
    symbols = b""
    while len(symbols) < length:
        symbols += os.urandom(length + 8).translate(_BYTE_TO_SYMBOL, _UNUSABLE_BYTES)
    return prefix + symbols[:length].decode()


def public(obj: Any) -> Any:
    """A deep copy without the sandbox's private ``_`` keys."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj


def to_json(value: Any) -> bytes:
    """JSON text as Stripe writes it: indented by two spaces."""
    return json.dumps(value, indent=2).encode()


def list_object(url: str, data: list[Any], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def empty_address() -> dict[str, Any]:
    return {
        "city": None,
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


def checkout_session(
    *,
    session_id: str,
    created: int,
    expires_at: int,
    amount_total: int,
    currency: str,
    success_url: str | None,
    cancel_url: str | None,
    client_reference_id: str | None,
    customer_email: str | None,
    metadata: dict[str, str],
    payment_method_types: list[str],
    locale: str | None,
    submit_type: str | None,
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_account": None,
        "customer_creation": "if_required",
        "customer_details": None,
        "customer_email": customer_email,
        "discounts": [],
        "expires_at": expires_at,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": {
            "enabled": False,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": None,
                "description": None,
                "footer": None,
                "issuer": None,
                "metadata": {},
                "rendering_options": None,
            },
        },
        "livemode": False,
        "locale": locale,
        "managed_payments": {"enabled": False},
        "metadata": metadata,
        "mode": "payment",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": payment_method_types,
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": submit_type,
        "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
        "wallet_options": None,
    }


def customer_details(email: str | None, name: str | None = None) -> dict[str, Any]:
    return {
        "address": empty_address(),
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def line_item(
    *,
    created: int,
    currency: str,
    unit_amount: int,
    quantity: int,
    name: str,
    description: str | None,
    product_metadata: dict[str, str],
) -> dict[str, Any]:
    """A Checkout Session line item (Stripe's ``item`` object) with its inline price."""
    product_id = new_id("prod_", 14)
    amount = unit_amount * quantity
    return {
        "id": new_id("li_"),
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": currency,
        "description": name,
        "metadata": {},
        "price": {
            "id": new_id("price_"),
            "object": "price",
            "active": False,
            "billing_scheme": "per_unit",
            "created": created,
            "currency": currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": product_id,
            "recurring": None,
            "tax_behavior": "unspecified",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        },
        "quantity": quantity,
        # Not in Stripe's item: the inline product, kept for the hosted page and tests.
        "_product": {
            "id": product_id,
            "name": name,
            "description": description,
            "metadata": product_metadata,
        },
    }


def payment_intent(
    *,
    created: int,
    amount: int,
    currency: str,
    metadata: dict[str, str],
    description: str | None,
    receipt_email: str | None,
    payment_method_types: list[str],
) -> dict[str, Any]:
    intent_id = new_id("pi_")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": None,
        "customer_account": None,
        "description": description,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "managed_payments": None,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": payment_method_types,
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def event(
    *,
    created: int,
    event_type: str,
    snapshot: dict[str, Any],
    request_id: str | None,
    idempotency_key: str | None,
    previous_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An event about ``snapshot``, the object as rendered (kept as it is, not copied)."""
    data: dict[str, Any] = {"object": snapshot}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": new_id("evt_"),
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }


def webhook_endpoint(
    *,
    created: int,
    url: str,
    enabled_events: list[str],
    description: str | None,
    metadata: dict[str, str],
    api_version: str | None,
    secret: str,
) -> dict[str, Any]:
    return {
        "id": new_id("we_"),
        "object": "webhook_endpoint",
        "api_version": api_version,
        "application": None,
        "created": created,
        "description": description,
        "enabled_events": enabled_events,
        "livemode": False,
        "metadata": metadata,
        "status": "enabled",
        "url": url,
        "_secret": secret,
    }


def new_webhook_secret() -> str:
    return new_id("whsec_", 32)
