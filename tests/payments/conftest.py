"""Webhook helpers: sign a body as Stripe does, deliver sandbox events to our intake, run the inbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.test import Client
from django.utils import timezone

from bookdesk.payments import webhooks

SECRET = "whsec_bookdesk_tests"


@pytest.fixture(autouse=True)
def webhook_secret(settings: Any) -> str:
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    return SECRET


def sign(payload: bytes, secret: str = SECRET, *, at: int | None = None) -> str:
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def deliver(event: dict[str, Any], *, secret: str = SECRET, client: Client | None = None) -> Any:
    payload = json.dumps(event).encode()
    return (client or Client()).post(
        "/api/stripe/webhook",
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload, secret)},
    )


def sandbox_events(stripe_client: stripe.StripeClient, *, about: set[str]) -> list[dict[str, Any]]:
    """The sandbox's events whose object is one of `about` (ids), oldest first, as Stripe would send them."""
    events = [e.to_dict() for e in stripe_client.v1.events.list(params={"limit": 100}).data]
    found = [e for e in events if e["data"]["object"].get("id") in about]
    return sorted(found, key=lambda e: (e["created"], e["id"]))


def run_inbox() -> int:
    """What the worker does: process every stored event that is due (failed ones' backoff skipped)."""
    return webhooks.process_due(now=timezone.now() + timedelta(hours=2))


def book(client: Client, course_id: int) -> dict[str, Any]:
    response = client.post("/api/stripe/checkout", {"course_id": course_id}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def pay(stripe_client: stripe.StripeClient, session_id: str, method: str = "pm_card_visa", **params: Any) -> Any:
    response = stripe_client.raw_request(
        "post", f"/v1/test_helpers/checkout/sessions/{session_id}/pay", payment_method=method, **params
    )
    return stripe_client.deserialize(response, api_mode="V1")


def session_events(stripe_client: stripe.StripeClient, session_id: str) -> list[dict[str, Any]]:
    session = stripe_client.v1.checkout.sessions.retrieve(session_id)
    about = {session_id}
    if session.payment_intent:
        about.add(session.payment_intent if isinstance(session.payment_intent, str) else session.payment_intent.id)
    return sandbox_events(stripe_client, about=about)


def intent_events(stripe_client: stripe.StripeClient, intent: str) -> list[dict[str, Any]]:
    """Events about a PaymentIntent's charges, refunds and disputes, oldest first."""
    events = [e.to_dict() for e in stripe_client.v1.events.list(params={"limit": 100}).data]
    found = [e for e in events if e["data"]["object"].get("payment_intent") == intent]
    return sorted(found, key=lambda e: (e["created"], e["id"]))
