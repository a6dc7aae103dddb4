"""Webhook endpoints and delivery: signed as Stripe signs, retried, and misbehaving on demand."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_sandbox.server import Sandbox

from .conftest import WebhookListener, control, create_session, pay, wait_for


def verified(listener: WebhookListener, secret: str) -> list[stripe.Event]:
    with listener.lock:
        received = list(listener.received)
    return [stripe.Webhook.construct_event(item.body.decode(), item.signature, secret) for item in received]


def test_endpoint_crud_shows_the_secret_only_on_create(client: stripe.StripeClient) -> None:
    created = client.v1.webhook_endpoints.create(
        params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["checkout.session.completed"], "description": "d"}
    )
    assert created.secret.startswith("whsec_")
    assert created.status == "enabled"
    fetched = client.v1.webhook_endpoints.retrieve(created.id)
    assert "secret" not in fetched
    assert fetched.enabled_events == ["checkout.session.completed"]
    assert [e.id for e in client.v1.webhook_endpoints.list().data] == [created.id]
    updated = client.v1.webhook_endpoints.update(created.id, params={"disabled": True})
    assert updated.status == "disabled"
    deleted = client.v1.webhook_endpoints.delete(created.id)
    assert deleted.deleted is True
    assert client.v1.webhook_endpoints.list().data == []
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.webhook_endpoints.retrieve(created.id)


@pytest.mark.parametrize(("params", "param"), [({"enabled_events": ["*"]}, "url"), ({"url": "ftp://x"}, "url")])
def test_invalid_endpoints_are_refused(client: stripe.StripeClient, params: dict[str, object], param: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.webhook_endpoints.create(params={"enabled_events": ["*"], **params})  # type: ignore[typeddict-item]
    assert caught.value.param == param


def test_events_are_delivered_signed_and_in_order(
    client: stripe.StripeClient, listener: WebhookListener, endpoint: stripe.WebhookEndpoint
) -> None:
    session = create_session(client)
    pay(client, session.id, "pm_card_visa")
    wait_for(lambda: len(listener.received) >= 3)
    events = verified(listener, endpoint.secret)  # raises if any signature is wrong
    assert [e.type for e in events] == ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]
    assert events[2].data.object.id == session.id
    assert listener.received[0].headers["Content-Type"].startswith("application/json")
    assert listener.received[0].signature.startswith("t=")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(listener.received[0].body.decode(), listener.received[0].signature, "whsec_x")
    wait_for(lambda: client.v1.events.retrieve(events[2].id).pending_webhooks == 0)


def test_only_enabled_events_are_delivered(client: stripe.StripeClient, listener: WebhookListener) -> None:
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": listener.url, "enabled_events": ["checkout.session.completed"]}
    )
    pay(client, create_session(client).id, "pm_card_visa")
    wait_for(lambda: listener.received)
    assert [e.type for e in verified(listener, endpoint.secret)] == ["checkout.session.completed"]


def attempts(sandbox: Sandbox) -> list[dict[str, object]]:
    """The delivery log, oldest first: each attempt with its time on the sandbox clock."""
    return list(sandbox.dispatcher.log)


def test_failed_deliveries_are_retried_with_backoff(
    client: stripe.StripeClient, sandbox: Sandbox, listener: WebhookListener, endpoint: stripe.WebhookEndpoint
) -> None:
    listener.respond = lambda attempt: 500 if attempt <= 2 else 200
    session = create_session(client)
    client.v1.checkout.sessions.expire(session.id)
    wait_for(lambda: len(attempts(sandbox)) == 1)
    wait_for(lambda: sandbox.dispatcher.pending() == 1)  # the retry, waiting for the clock
    assert len(listener.received) == 1
    sandbox.clock.advance(0.05)
    wait_for(lambda: len(attempts(sandbox)) == 2)
    sandbox.clock.advance(0.1)
    wait_for(lambda: len(attempts(sandbox)) == 3)
    events = verified(listener, endpoint.secret)
    assert len(events) == 3
    assert {e.id for e in events} == {events[0].id}
    log = attempts(sandbox)
    assert [entry["status"] for entry in log] == [500, 500, 200]
    times = [float(entry["at"]) for entry in log]  # type: ignore[arg-type]
    assert times[1] - times[0] == pytest.approx(0.05, abs=1e-3)  # not before the backoff, and as soon as it ends
    assert times[2] - times[1] == pytest.approx(0.1, abs=1e-3)
    wait_for(lambda: client.v1.events.retrieve(events[0].id).pending_webhooks == 0)


def test_delivery_gives_up_after_the_schedule(
    client: stripe.StripeClient, sandbox: Sandbox, listener: WebhookListener, endpoint: stripe.WebhookEndpoint
) -> None:
    listener.respond = lambda attempt: 503
    client.v1.checkout.sessions.expire(create_session(client).id)
    for number, delay in enumerate((0.05, 0.1, 0.2, 0.4), start=1):
        wait_for(lambda number=number: len(attempts(sandbox)) == number)  # type: ignore[misc]
        sandbox.clock.advance(delay)
    wait_for(lambda: len(attempts(sandbox)) == 5)
    wait_for(lambda: sandbox.dispatcher.pending() == 0)  # given up: nothing queued, nothing in flight
    sandbox.clock.advance(3600)
    assert sandbox.dispatcher.pending() == 0
    assert len(listener.received) == 5
    event = client.v1.events.list(params={"limit": 1}).data[0]
    assert event.pending_webhooks == 1


def test_a_timeout_counts_as_a_failure(
    client: stripe.StripeClient, sandbox: Sandbox, listener: WebhookListener, endpoint: stripe.WebhookEndpoint
) -> None:
    listener.delay = lambda attempt: 1.5 if attempt == 1 else 0.0  # the sandbox waits 1 s
    client.v1.checkout.sessions.expire(create_session(client).id)
    wait_for(lambda: attempts(sandbox) and attempts(sandbox)[0]["error"], timeout=5)
    assert "timed out" in str(attempts(sandbox)[0]["error"])
    sandbox.clock.advance(0.05)
    wait_for(lambda: len(listener.received) >= 2, timeout=5)
    events = verified(listener, endpoint.secret)
    assert events[0].id == events[1].id


def test_a_slow_endpoint_never_blocks_api_requests(
    client: stripe.StripeClient, listener: WebhookListener, endpoint: stripe.WebhookEndpoint
) -> None:

    listener.delay = lambda attempt: 0.8
    started = time.monotonic()
    for _ in range(3):
        client.v1.checkout.sessions.expire(create_session(client).id)
    assert time.monotonic() - started < 1.5  # blocked behind the deliveries, they would take 2.4 s at least


def test_dropped_deliveries_never_arrive_but_events_exist(
    client: stripe.StripeClient,
    sandbox: Sandbox,
    listener: WebhookListener,
    endpoint: stripe.WebhookEndpoint,
    base_url: str,
) -> None:
    assert control(base_url, "POST", "/_sandbox/faults", {"webhook_drop_rate": 1})[0] == 200
    client.v1.checkout.sessions.expire(create_session(client).id)
    assert [entry["error"] for entry in attempts(sandbox)] == ["dropped (fault)"]
    assert sandbox.dispatcher.pending() == 0  # nothing was queued: nothing will arrive
    assert listener.received == []
    assert client.v1.events.list(params={"type": "checkout.session.expired"}).data


def test_duplicated_deliveries_arrive_twice(
    client: stripe.StripeClient, listener: WebhookListener, endpoint: stripe.WebhookEndpoint, base_url: str
) -> None:
    control(base_url, "POST", "/_sandbox/faults", {"webhook_duplicate_rate": 1.0})
    client.v1.checkout.sessions.expire(create_session(client).id)
    wait_for(lambda: len(listener.received) == 2)
    events = verified(listener, endpoint.secret)
    assert events[0].id == events[1].id


def test_reordered_deliveries_arrive_shuffled(
    client: stripe.StripeClient,
    sandbox: Sandbox,
    listener: WebhookListener,
    endpoint: stripe.WebhookEndpoint,
    base_url: str,
) -> None:
    control(base_url, "POST", "/_sandbox/faults", {"webhook_reorder": True})
    sessions = [create_session(client) for _ in range(12)]
    for session in sessions:
        client.v1.checkout.sessions.expire(session.id)
    sandbox.clock.advance(0.5)  # the reorder window: each delivery is held back up to 0.5 s
    wait_for(lambda: len(listener.received) == 12)
    received = [e.data.object.id for e in verified(listener, endpoint.secret)]
    assert sorted(received) == sorted(s.id for s in sessions)
    assert received != [s.id for s in sessions]


def test_cli_style_registration_uses_the_given_secret(sandbox: Sandbox, listener: WebhookListener) -> None:
    shown = sandbox.add_webhook_endpoint(listener.url, "whsec_given")
    assert shown["secret"] == "whsec_given"
    again = sandbox.add_webhook_endpoint(listener.url, "whsec_other")
    assert again["id"] == shown["id"]
