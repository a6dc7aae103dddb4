"""The payment engine, through the test helper (HTTP + SDK) and the Python contract."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox import payments
from stripe_sandbox.errors import StripeError
from stripe_sandbox.server import Sandbox

from .conftest import control, create_session, pay, wait_for


def event_types(client: stripe.StripeClient) -> list[str]:
    """Event types oldest first."""
    return [event.type for event in reversed(client.v1.events.list(params={"limit": 100}).data)]


def test_a_card_payment_completes_the_session(client: stripe.StripeClient) -> None:
    session = create_session(client)
    paid = pay(client, session.id, "pm_card_visa")
    assert paid.status == "complete"
    assert paid.payment_status == "paid"
    assert paid.url is None
    assert paid.customer_details.email == "ada@example.com"
    intent = client.v1.payment_intents.retrieve(paid.payment_intent)  # type: ignore[arg-type]
    assert intent.status == "succeeded"
    assert intent.amount == intent.amount_received == 5900
    charge = client.v1.charges.retrieve(intent.latest_charge)  # type: ignore[arg-type]
    assert charge.status == "succeeded"
    assert charge.paid is True
    assert charge.captured is True
    assert charge.payment_intent == intent.id
    assert charge.payment_method_details.card.last4 == "4242"
    assert event_types(client) == ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]


def test_payment_intent_data_metadata_reaches_the_payment_intent(client: stripe.StripeClient) -> None:
    session = create_session(client, payment_intent_data={"metadata": {"order": "BK-9"}, "description": "BK-9"})
    paid = pay(client, session.id, "pm_card_visa")
    intent = client.v1.payment_intents.retrieve(paid.payment_intent)  # type: ignore[arg-type]
    assert intent.metadata.to_dict() == {"order": "BK-9"}
    assert intent.description == "BK-9"


@pytest.mark.parametrize(
    ("method", "decline_code"),
    [("pm_card_chargeDeclined", "generic_decline"), ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")],
)
def test_a_decline_raises_card_error_and_leaves_the_session_open(
    client: stripe.StripeClient, method: str, decline_code: str
) -> None:
    session = create_session(client)
    with pytest.raises(stripe.CardError) as caught:
        pay(client, session.id, method)
    assert caught.value.http_status == 402
    assert caught.value.code == "card_declined"
    assert caught.value.error.decline_code == decline_code
    found = client.v1.checkout.sessions.retrieve(session.id)
    assert found.status == "open"
    intent = client.v1.payment_intents.retrieve(found.payment_intent)  # type: ignore[arg-type]
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error.decline_code == decline_code
    assert "payment_intent.payment_failed" in event_types(client)

    retried = pay(client, session.id, "pm_card_visa")
    assert retried.status == "complete"
    assert retried.payment_intent == found.payment_intent
    assert client.v1.payment_intents.retrieve(found.payment_intent).status == "succeeded"  # type: ignore[arg-type]


def test_three_d_secure_requires_action_then_approves(client: stripe.StripeClient) -> None:
    session = create_session(client)
    pending = pay(client, session.id, "pm_card_authenticationRequired")
    assert pending.status == "open"
    intent = client.v1.payment_intents.retrieve(pending.payment_intent)  # type: ignore[arg-type]
    assert intent.status == "requires_action"
    assert intent.next_action.type == "redirect_to_url"
    done = pay(client, session.id, "pm_card_authenticationRequired_approved")
    assert done.status == "complete"
    assert done.payment_status == "paid"


def test_three_d_secure_failure_declines(client: stripe.StripeClient) -> None:
    session = create_session(client)
    pay(client, session.id, "pm_card_authenticationRequired")
    with pytest.raises(stripe.CardError) as caught:
        pay(client, session.id, "pm_card_authenticationRequired_failed")
    assert caught.value.error.decline_code == "authentication_required"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_delayed_payment_completes_unpaid_then_succeeds(client: stripe.StripeClient, base_url: str) -> None:
    session = create_session(client)
    done = pay(client, session.id, "pm_sepa_debit", delayed_outcome="succeeded", delay_seconds="20")
    assert (done.status, done.payment_status) == ("complete", "unpaid")
    assert client.v1.payment_intents.retrieve(done.payment_intent).status == "processing"  # type: ignore[arg-type]
    control(base_url, "POST", "/_sandbox/clock", {"advance_seconds": 19})
    assert client.v1.payment_intents.retrieve(done.payment_intent).status == "processing"  # type: ignore[arg-type]
    control(base_url, "POST", "/_sandbox/clock", {"advance_seconds": 1})  # settled before this returns
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    assert client.v1.payment_intents.retrieve(done.payment_intent).status == "succeeded"  # type: ignore[arg-type]
    types = event_types(client)
    assert types.index("checkout.session.completed") < types.index("checkout.session.async_payment_succeeded")
    assert "payment_intent.succeeded" in types
    assert "charge.succeeded" in types


def test_delayed_payment_can_fail(client: stripe.StripeClient) -> None:
    session = create_session(client)
    done = pay(client, session.id, "pm_sepa_debit", delayed_outcome="failed", delay_seconds="0")
    wait_for(lambda: "checkout.session.async_payment_failed" in event_types(client))
    found = client.v1.checkout.sessions.retrieve(session.id)
    assert (found.status, found.payment_status) == ("complete", "unpaid")
    assert client.v1.payment_intents.retrieve(done.payment_intent).status == "requires_payment_method"  # type: ignore[arg-type]
    assert "payment_intent.payment_failed" in event_types(client)


def test_a_session_that_is_not_open_cannot_be_paid(client: stripe.StripeClient) -> None:
    session = create_session(client)
    pay(client, session.id, "pm_card_visa")
    with pytest.raises(stripe.InvalidRequestError, match="no longer open"):
        pay(client, session.id, "pm_card_visa")
    expired = create_session(client)
    client.v1.checkout.sessions.expire(expired.id)
    with pytest.raises(stripe.InvalidRequestError):
        pay(client, expired.id, "pm_card_visa")


def test_an_unknown_payment_method_is_refused(client: stripe.StripeClient) -> None:
    session = create_session(client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(client, session.id, "pm_card_mastercard_bogus")
    assert caught.value.param == "payment_method"


# --- the Python contract used by the hosted page ---------------------------------------------


@pytest.mark.parametrize(
    ("number", "method"),
    [
        ("4242 4242 4242 4242", "pm_card_visa"),
        ("4000000000000002", "pm_card_chargeDeclined"),
        ("4000 0000 0000 9995", "pm_card_chargeDeclinedInsufficientFunds"),
        ("4000 0025 0000 3155", "pm_card_authenticationRequired"),
    ],
)
def test_test_cards_map_to_payment_methods(number: str, method: str) -> None:
    assert payments.card_to_payment_method(number) == method


@pytest.mark.parametrize("number", ["", "1234 5678 9012 3456", "abcd"])
def test_other_card_numbers_are_refused_with_a_message(number: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        payments.card_to_payment_method(number)


def test_pay_session_contract(sandbox: Sandbox, client: stripe.StripeClient) -> None:
    state = sandbox.state
    session = create_session(client)
    page = payments.session_for_page(state, session.id)
    assert page is not None
    assert [item["description"] for item in page["line_items"]["data"]] == ["Pottery course", "Clay"]
    assert payments.session_for_page(state, "cs_test_missing") is None
    assert payments.cancel_session_url(state, session.id) == "http://shop.test/cancel"

    declined = payments.pay_session(state, session.id, "pm_card_chargeDeclined")
    assert declined == payments.PayResult(False, "declined", "generic_decline", "Your card was declined.", None)
    challenge = payments.pay_session(state, session.id, "pm_card_authenticationRequired")
    assert (challenge.ok, challenge.status) == (False, "requires_action")
    paid = payments.pay_session(state, session.id, "pm_card_authenticationRequired_approved")
    assert paid.ok is True
    assert paid.status == "succeeded"
    assert paid.redirect_url == f"http://shop.test/success?session_id={session.id}"
    with pytest.raises(StripeError):
        payments.pay_session(state, session.id, "pm_card_visa")
    with pytest.raises(StripeError):
        payments.pay_session(state, "cs_test_missing", "pm_card_visa")

    delayed = payments.pay_session(
        state, create_session(client).id, "pm_sepa_debit", delayed_outcome="succeeded", delay_seconds=0
    )
    assert (delayed.ok, delayed.status, delayed.decline_code) == (True, "processing", None)
    assert delayed.redirect_url is not None
