"""Refunds (full, partial, over-refund) and disputes."""

from __future__ import annotations

import pytest
import stripe

from .conftest import create_session, pay


def paid_intent(client: stripe.StripeClient) -> stripe.PaymentIntent:
    session = pay(client, create_session(client).id, "pm_card_visa")
    return client.v1.payment_intents.retrieve(session.payment_intent)  # type: ignore[arg-type]


def test_a_full_refund_by_payment_intent(client: stripe.StripeClient) -> None:
    intent = paid_intent(client)
    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "reason": "requested_by_customer"})
    assert refund.status == "succeeded"
    assert refund.amount == 5900
    assert refund.charge == intent.latest_charge
    assert refund.payment_intent == intent.id
    assert refund.reason == "requested_by_customer"
    charge = client.v1.charges.retrieve(intent.latest_charge)  # type: ignore[arg-type]
    assert charge.amount_refunded == 5900
    assert charge.refunded is True
    assert [r.id for r in charge.refunds.data] == [refund.id]
    types = [event.type for event in client.v1.events.list().data]
    assert {"refund.created", "charge.refunded", "refund.updated"} <= set(types)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": charge.id})
    assert caught.value.code == "charge_already_refunded"


def test_partial_refunds_add_up_and_over_refund_is_refused(client: stripe.StripeClient) -> None:
    intent = paid_intent(client)
    first = client.v1.refunds.create(params={"charge": intent.latest_charge, "amount": 1000, "metadata": {"why": "a"}})  # type: ignore[typeddict-item]
    assert first.metadata.to_dict() == {"why": "a"}
    charge = client.v1.charges.retrieve(intent.latest_charge)  # type: ignore[arg-type]
    assert (charge.amount_refunded, charge.refunded) == (1000, False)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 4901})
    assert caught.value.param == "amount"
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 1000
    rest = client.v1.refunds.create(params={"payment_intent": intent.id})
    assert rest.amount == 4900
    assert client.v1.charges.retrieve(charge.id).refunded is True

    listed = client.v1.refunds.list(params={"payment_intent": intent.id})
    assert [r.id for r in listed.data] == [rest.id, first.id]
    assert client.v1.refunds.retrieve(first.id).amount == 1000
    assert [r.id for r in client.v1.refunds.list(params={"charge": charge.id, "limit": 1}).data] == [rest.id]


@pytest.mark.parametrize(("params", "param"), [({"amount": 0}, "amount"), ({"reason": "bored"}, "reason")])
def test_invalid_refunds_name_the_parameter(client: stripe.StripeClient, params: dict[str, object], param: str) -> None:
    intent = paid_intent(client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": intent.id, **params})  # type: ignore[typeddict-item]
    assert caught.value.param == param


def test_an_unpaid_payment_cannot_be_refunded(client: stripe.StripeClient) -> None:
    session = create_session(client)
    with pytest.raises(stripe.CardError):
        pay(client, session.id, "pm_card_chargeDeclined")
    intent_id = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": intent_id})  # type: ignore[typeddict-item]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={})


def test_a_dispute_marks_the_charge_and_emits_an_event(client: stripe.StripeClient) -> None:
    intent = paid_intent(client)
    response = client.raw_request("post", "/v1/test_helpers/disputes", charge=intent.latest_charge)
    dispute = client.deserialize(response, api_mode="V1")
    assert dispute.object == "dispute"
    assert dispute.id.startswith("dp_")
    assert dispute.amount == 5900
    assert dispute.status == "needs_response"
    assert client.v1.charges.retrieve(intent.latest_charge).disputed is True  # type: ignore[arg-type]
    event = client.v1.events.list(params={"type": "charge.dispute.created"}).data[0]
    assert event.data.object.id == dispute.id
    assert client.v1.disputes.retrieve(dispute.id).charge == intent.latest_charge
    with pytest.raises(stripe.InvalidRequestError):
        client.raw_request("post", f"/v1/test_helpers/charges/{intent.latest_charge}/dispute")
    with pytest.raises(stripe.InvalidRequestError, match="charged back"):
        client.v1.refunds.create(params={"payment_intent": intent.id})
