"""Sessions expire on their own at expires_at (the sandbox clock can be moved forward)."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_sandbox.server import Sandbox

from .conftest import WebhookListener, control, create_session, pay, wait_for


def test_advancing_the_clock_expires_due_sessions(
    client: stripe.StripeClient, base_url: str, listener: WebhookListener, endpoint: stripe.WebhookEndpoint
) -> None:
    due = create_session(client, expires_at=int(time.time()) + 1800)
    later = create_session(client, expires_at=int(time.time()) + 7200)
    status, clock = control(base_url, "POST", "/_sandbox/clock", {"advance_seconds": 1801})
    assert status == 200
    assert clock["offset"] == 1801
    assert client.v1.checkout.sessions.retrieve(due.id).status == "expired"
    assert client.v1.checkout.sessions.retrieve(later.id).status == "open"
    event = client.v1.events.list(params={"type": "checkout.session.expired"}).data[0]
    assert event.data.object.id == due.id
    assert event.request.id is None
    wait_for(lambda: listener.types() == ["checkout.session.expired"])
    with pytest.raises(stripe.InvalidRequestError):
        pay(client, due.id, "pm_card_visa")


def test_the_sweeper_expires_sessions_by_itself(client: stripe.StripeClient, sandbox: Sandbox) -> None:
    session = create_session(client, expires_at=int(time.time()) + 1800)
    sandbox.clock.advance(1801)  # no explicit sweep: the timer loop must notice
    wait_for(lambda: client.v1.checkout.sessions.retrieve(session.id).status == "expired", timeout=2)


def test_expiry_cancels_an_attempted_payment_intent(client: stripe.StripeClient, base_url: str) -> None:
    session = create_session(client, expires_at=int(time.time()) + 1800)
    with pytest.raises(stripe.CardError):
        pay(client, session.id, "pm_card_chargeDeclined")
    control(base_url, "POST", "/_sandbox/clock", {"advance_seconds": 3600})
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    intent = client.v1.payment_intents.retrieve(intent_id)  # type: ignore[arg-type]
    assert intent.status == "canceled"


def test_a_paid_session_does_not_expire(client: stripe.StripeClient, base_url: str) -> None:
    session = create_session(client, expires_at=int(time.time()) + 1800)
    pay(client, session.id, "pm_card_visa")
    control(base_url, "POST", "/_sandbox/clock", {"advance_seconds": 3600})
    assert client.v1.checkout.sessions.retrieve(session.id).status == "complete"


def test_the_clock_only_moves_forward(base_url: str) -> None:
    assert control(base_url, "POST", "/_sandbox/clock", {"advance_seconds": -5})[0] == 400
    assert control(base_url, "GET", "/_sandbox/clock")[1]["offset"] == 0
