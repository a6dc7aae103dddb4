"""Events: retrieve and list with type, types[], created filters and pagination."""

from __future__ import annotations

import pytest
import stripe

from stripe_sandbox.objects import API_VERSION

from .conftest import create_session, pay


def test_events_list_newest_first_with_filters(client: stripe.StripeClient) -> None:
    first = pay(client, create_session(client).id, "pm_card_visa")
    second = create_session(client)
    client.v1.checkout.sessions.expire(second.id)

    events = client.v1.events.list().data
    assert [e.type for e in events] == [
        "checkout.session.expired",
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
    ]
    assert [e.created for e in events] == sorted((e.created for e in events), reverse=True)
    completed = client.v1.events.list(params={"type": "checkout.session.completed"}).data
    assert [e.data.object.id for e in completed] == [first.id]
    both = client.v1.events.list(params={"types": ["checkout.session.completed", "checkout.session.expired"]})
    assert [e.type for e in both.data] == ["checkout.session.expired", "checkout.session.completed"]
    wildcard = client.v1.events.list(params={"type": "checkout.session.*"})
    assert len(wildcard.data) == 2
    # The four may straddle a second (`created` is whole seconds): bound the window by the oldest and newest.
    newest, oldest = events[0].created, events[-1].created
    assert len(client.v1.events.list(params={"created": {"gte": oldest}}).data) == 4
    assert client.v1.events.list(params={"created": {"gt": newest}}).data == []
    assert len(client.v1.events.list(params={"created": {"lte": newest}}).data) == 4
    assert client.v1.events.list(params={"created": {"lt": oldest - 100}}).data == []

    page = client.v1.events.list(params={"limit": 3})
    assert page.has_more is True
    rest = client.v1.events.list(params={"limit": 3, "starting_after": page.data[-1].id})
    assert [e.type for e in rest.data] == ["charge.succeeded"]
    assert rest.has_more is False
    back = client.v1.events.list(params={"limit": 1, "ending_before": rest.data[0].id})
    assert back.data[0].id == page.data[-1].id
    assert back.has_more is True


def test_event_carries_api_version_request_and_snapshot(client: stripe.StripeClient) -> None:
    session = create_session(client)
    client.v1.checkout.sessions.expire(session.id, options={"idempotency_key": "expire-1"})
    event = client.v1.events.list(params={"limit": 1}).data[0]
    assert event.api_version == API_VERSION
    assert event.request.idempotency_key == "expire-1"
    assert event.request.id.startswith("req_")
    assert event.pending_webhooks == 0
    assert event.data.object.status == "expired"
    assert client.v1.events.retrieve(event.id).id == event.id


def test_type_and_types_together_are_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.events.list(params={"type": "a.b", "types": ["c.d"]})
    assert caught.value.param == "types"


def test_an_unknown_event_is_a_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.events.retrieve("evt_missing")
    assert caught.value.http_status == 404
