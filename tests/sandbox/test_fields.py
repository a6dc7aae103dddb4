"""Every object carries every top-level field of Stripe's own fixture of the same object."""

from __future__ import annotations

from typing import Any

import stripe

from .conftest import create_session, pay


def keys(obj: Any) -> set[str]:
    return set(obj.to_dict().keys()) if hasattr(obj, "to_dict") else set(obj.keys())


def missing(obj: Any, fixture: dict[str, Any]) -> set[str]:
    return set(fixture) - keys(obj)


def test_every_object_has_every_fixture_field(
    client: stripe.StripeClient, stripe_fixtures: dict[str, Any], listener: Any
) -> None:
    endpoint = client.v1.webhook_endpoints.create(params={"url": listener.url, "enabled_events": ["*"]})
    session = create_session(client)
    paid = pay(client, session.id, "pm_card_visa")
    intent = client.v1.payment_intents.retrieve(paid.payment_intent)  # type: ignore[arg-type]
    charge = client.v1.charges.retrieve(intent.latest_charge)  # type: ignore[arg-type]
    refund = client.v1.refunds.create(params={"charge": charge.id, "amount": 100})
    event = client.v1.events.list(params={"limit": 1}).data[0]
    line_item = client.v1.checkout.sessions.line_items.list(session.id).data[0]
    dispute = client.deserialize(
        client.raw_request("post", f"/v1/test_helpers/charges/{charge.id}/dispute"), api_mode="V1"
    )

    assert missing(session, stripe_fixtures["checkout.session"]) == set()
    assert missing(paid, stripe_fixtures["checkout.session"]) == set()
    assert missing(intent, stripe_fixtures["payment_intent"]) == set()
    assert missing(charge, stripe_fixtures["charge"]) == set()
    assert missing(refund, stripe_fixtures["refund"]) == set()
    assert missing(event, stripe_fixtures["event"]) == set()
    assert missing(endpoint, stripe_fixtures["webhook_endpoint"]) == set()
    assert missing(dispute, stripe_fixtures["dispute"]) == set()
    # A Checkout Session's line item is Stripe's `item` object (fixtures3 `item`).
    assert line_item.object == "item"
    assert missing(line_item, stripe_fixtures["item"]) == set()
    assert missing(line_item.price, stripe_fixtures["price"]) <= {"currency_options", "tiers"}


def test_event_snapshots_carry_the_fixture_fields(client: stripe.StripeClient, stripe_fixtures: dict[str, Any]) -> None:
    session = create_session(client)
    pay(client, session.id, "pm_card_visa")
    by_type = {event.type: event for event in client.v1.events.list(params={"limit": 100}).data}
    assert missing(by_type["checkout.session.completed"].data.object, stripe_fixtures["checkout.session"]) == set()
    assert missing(by_type["payment_intent.succeeded"].data.object, stripe_fixtures["payment_intent"]) == set()
    assert missing(by_type["charge.succeeded"].data.object, stripe_fixtures["charge"]) == set()
    assert set(by_type["charge.succeeded"].request.to_dict()) == {"id", "idempotency_key"}


def test_list_objects_are_shaped_as_stripe(client: stripe.StripeClient) -> None:
    create_session(client)
    for path in (
        "/v1/checkout/sessions",
        "/v1/payment_intents",
        "/v1/charges",
        "/v1/refunds",
        "/v1/events",
        "/v1/webhook_endpoints",
        "/v1/disputes",
    ):
        listing = client.raw_request("get", path)
        body = client.deserialize(listing, api_mode="V1").to_dict()
        assert set(body) == {"object", "data", "has_more", "url"}, path
        assert body["object"] == "list"
        assert body["url"] == path


def test_ids_carry_stripe_prefixes_and_test_mode(client: stripe.StripeClient) -> None:
    session = create_session(client)
    paid = pay(client, session.id, "pm_card_visa")
    intent = client.v1.payment_intents.retrieve(paid.payment_intent)  # type: ignore[arg-type]
    refund = client.v1.refunds.create(params={"payment_intent": intent.id})
    event = client.v1.events.list(params={"limit": 1}).data[0]
    assert session.id.startswith("cs_test_")
    assert intent.id.startswith("pi_")
    assert str(intent.latest_charge).startswith("ch_")
    assert refund.id.startswith("re_")
    assert event.id.startswith("evt_")
    assert session.livemode is False
    assert intent.livemode is False
    assert isinstance(session.created, int)
