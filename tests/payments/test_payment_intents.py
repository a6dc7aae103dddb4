"""A PaymentIntent belongs to one payment: the database says so (a unique id), and when an event claims
another payment's intent, Stripe's own Checkout Session decides whose it is. A forged event carrying a
real intent id is recorded with what became of it; the genuine events of that intent still apply."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from bookdesk.orders.models import Order, OrderStatus
from bookdesk.payments.models import Payment, WebhookEvent
from factories import CourseFactory, UserFactory, signed_in

from .conftest import book, deliver, intent_events, pay, run_inbox, session_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


def forged(session: dict[str, Any], *, intent: str, event_id: str = "evt_forged_intent") -> dict[str, Any]:
    """A `completed` event for this session, signed with our secret (a leaked one), claiming `intent` paid it."""
    body = json.loads(json.dumps(session))
    body.update(status="complete", payment_status="paid", payment_intent=intent)
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(timezone.now().timestamp()),
        "livemode": False,
        "data": {"object": body},
    }


def deliver_session(stripe_client: stripe.StripeClient, session_id: str) -> None:
    for event in session_events(stripe_client, session_id):
        assert deliver(event).status_code == 200


def refund_in_full(stripe_client: stripe.StripeClient, intent: str) -> None:
    stripe_client.v1.refunds.create(params={"payment_intent": intent})
    for event in intent_events(stripe_client, intent):
        assert deliver(event).status_code == 200
    run_inbox()


def test_two_payments_cannot_hold_one_intent() -> None:
    first = book(signed_in(), CourseFactory().pk)
    second = book(signed_in(), CourseFactory().pk)
    Payment.objects.filter(session_id=first["session_id"]).update(payment_intent_id="pi_same")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(session_id=second["session_id"]).update(payment_intent_id="pi_same")
    # Payments without an intent yet are many: no intent is NULL, not a shared empty string.
    assert Payment.objects.filter(payment_intent_id=None).count() == 1


def test_a_forged_event_with_a_real_intent_is_recorded_and_the_genuine_refund_applies(
    stripe_client: stripe.StripeClient,
) -> None:
    genuine = book(signed_in(UserFactory()), CourseFactory().pk)
    pay(stripe_client, genuine["session_id"])
    deliver_session(stripe_client, genuine["session_id"])
    run_inbox()
    intent = Payment.objects.get(session_id=genuine["session_id"]).payment_intent_id
    assert (intent or "").startswith("pi_")
    victim = book(signed_in(UserFactory()), CourseFactory().pk)  # still open at Stripe
    session = stripe_client.v1.checkout.sessions.retrieve(victim["session_id"]).to_dict()

    assert deliver(forged(session, intent=intent)).status_code == 200
    run_inbox()

    event = WebhookEvent.objects.get(stripe_id="evt_forged_intent")
    assert event.status == WebhookEvent.Status.PROCESSED  # recorded with its outcome, not failing
    assert event.outcome == "session still open"  # Stripe's session was asked, and it is not paid
    assert Order.objects.get(code=victim["order"]["code"]).status == OrderStatus.PENDING
    assert Payment.objects.get(session_id=victim["session_id"]).payment_intent_id is None

    refund_in_full(stripe_client, intent)

    refunded = WebhookEvent.objects.get(type="charge.refunded")
    assert refunded.status == WebhookEvent.Status.PROCESSED, refunded.last_error
    assert Order.objects.get(code=genuine["order"]["code"]).status == OrderStatus.REFUNDED
    assert Order.objects.get(code=victim["order"]["code"]).status == OrderStatus.PENDING


def test_a_forged_event_applied_first_loses_the_intent_to_the_genuine_session(
    stripe_client: stripe.StripeClient,
) -> None:
    victim = book(signed_in(UserFactory()), CourseFactory().pk)
    genuine = book(signed_in(UserFactory()), CourseFactory().pk)
    pay(stripe_client, genuine["session_id"])  # its webhook is late
    intent = stripe_client.v1.checkout.sessions.retrieve(genuine["session_id"]).payment_intent
    session = stripe_client.v1.checkout.sessions.retrieve(victim["session_id"]).to_dict()
    deliver(forged(session, intent=str(intent)))
    run_inbox()
    # The forged payload was final and signed: it was applied (reconciliation would flag it).
    assert Payment.objects.get(session_id=victim["session_id"]).payment_intent_id == intent

    deliver_session(stripe_client, genuine["session_id"])  # the genuine events arrive
    run_inbox()

    (completed,) = [
        e
        for e in WebhookEvent.objects.filter(type="checkout.session.completed")
        if e.payload["data"]["object"]["id"] == genuine["session_id"] and e.stripe_id != "evt_forged_intent"
    ]
    assert completed.status == WebhookEvent.Status.PROCESSED, completed.last_error
    assert Order.objects.get(code=genuine["order"]["code"]).status == OrderStatus.CONFIRMED
    assert Payment.objects.get(session_id=genuine["session_id"]).payment_intent_id == intent
    forged_order = Order.objects.get(code=victim["order"]["code"])
    assert forged_order.status == OrderStatus.NEEDS_REVIEW
    assert intent in forged_order.review_reason
    assert Payment.objects.get(session_id=victim["session_id"]).payment_intent_id is None

    refund_in_full(stripe_client, str(intent))

    assert WebhookEvent.objects.get(type="charge.refunded").status == WebhookEvent.Status.PROCESSED
    assert Order.objects.get(code=genuine["order"]["code"]).status == OrderStatus.REFUNDED
    assert Order.objects.get(code=victim["order"]["code"]).status == OrderStatus.NEEDS_REVIEW


def test_a_charge_of_an_unknown_intent_is_recorded_as_not_ours(client: Client) -> None:
    charge = {"id": "ch_x", "object": "charge", "payment_intent": "", "amount_refunded": 100}
    event = {
        "id": "evt_no_intent",
        "object": "event",
        "type": "charge.refunded",
        "created": 1,
        "data": {"object": charge},
    }
    deliver(event)
    run_inbox()
    assert WebhookEvent.objects.get(stripe_id="evt_no_intent").outcome == "unknown payment"
