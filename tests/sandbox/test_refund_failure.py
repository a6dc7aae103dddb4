"""Stripe's card 4000000000005126: a refund of it succeeds, then fails later, with Stripe's events."""

from __future__ import annotations

import stripe

from stripe_sandbox.cards import CARD_NUMBERS
from stripe_sandbox.refunds import REFUND_FAILURE_DELAY_SECONDS
from stripe_sandbox.server import Sandbox

from .conftest import WebhookListener, control, create_session, pay, wait_for


def paid_intent(client: stripe.StripeClient, method: str) -> stripe.PaymentIntent:
    session = pay(client, create_session(client).id, method)
    return client.v1.payment_intents.retrieve(str(session.payment_intent))


def advance(base_url: str, seconds: float) -> None:
    status, _ = control(base_url, "POST", "/_sandbox/clock", {"advance_seconds": seconds})
    assert status == 200


def test_the_refund_failure_card_is_on_the_page() -> None:
    assert CARD_NUMBERS["4000000000005126"][0] == "pm_card_refundFail"


def test_a_refund_of_the_card_succeeds_then_fails(
    client: stripe.StripeClient, sandbox: Sandbox, base_url: str, listener: WebhookListener
) -> None:
    client.v1.webhook_endpoints.create(
        params={"url": listener.url, "enabled_events": ["refund.*", "charge.refund.updated"]}
    )
    intent = paid_intent(client, "pm_card_refundFail")

    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})

    assert refund.status == "succeeded"
    assert client.v1.charges.retrieve(str(intent.latest_charge)).amount_refunded == 1000
    advance(base_url, REFUND_FAILURE_DELAY_SECONDS - 0.5)
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"

    advance(base_url, 0.5)

    failed = client.v1.refunds.retrieve(refund.id)
    assert (failed.status, failed.failure_reason) == ("failed", "expired_or_canceled_card")
    assert str(failed.failure_balance_transaction).startswith("txn_")
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    assert charge.refunds.data[0].status == "failed"
    types = [
        event.type
        for event in reversed(client.v1.events.list(params={"types": ["refund.*", "charge.refund.updated"]}).data)
    ]
    assert types[-3:] == ["refund.updated", "charge.refund.updated", "refund.failed"]
    updated = client.v1.events.list(params={"type": "charge.refund.updated"}).data[0]
    assert updated.data.object["id"] == refund.id
    assert updated.data.previous_attributes.to_dict() == {"status": "succeeded"}

    wait_for(lambda: sandbox.dispatcher.pending() == 0 and len(listener.received) >= 4)
    assert listener.types() == ["refund.created", "refund.updated", "charge.refund.updated", "refund.failed"]


def test_after_the_failure_the_amount_can_be_refunded_again(client: stripe.StripeClient, base_url: str) -> None:
    intent = paid_intent(client, "pm_card_refundFail")
    client.v1.refunds.create(params={"payment_intent": intent.id})
    advance(base_url, REFUND_FAILURE_DELAY_SECONDS)

    again = client.v1.refunds.create(params={"payment_intent": intent.id})

    assert again.amount == intent.amount


def test_other_cards_refunds_never_fail(client: stripe.StripeClient, base_url: str) -> None:
    intent = paid_intent(client, "pm_card_visa")
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    advance(base_url, REFUND_FAILURE_DELAY_SECONDS * 10)
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    types = {event.type for event in client.v1.events.list(params={"limit": 100}).data}
    assert "refund.failed" not in types
    assert "charge.refund.updated" not in types
