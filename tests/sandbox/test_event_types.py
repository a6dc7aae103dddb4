"""Webhook endpoints listen to Stripe's event types, ``*`` or a group (``charge.*``): unknown types are
refused, and whatever is accepted is delivered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import stripe

from stripe_sandbox import event_types
from stripe_sandbox.server import Sandbox

from .conftest import WebhookListener, create_session, pay, wait_for

SOURCE = Path(event_types.__file__).parent


@pytest.mark.parametrize("name", ["charge.succeded", "xxx", "charge", "nothing.*", "*.succeeded", "charge.**"])
def test_unknown_event_types_are_refused(client: stripe.StripeClient, name: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.webhook_endpoints.create(
            params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["checkout.session.completed", name]}
        )
    assert (caught.value.http_status, caught.value.param) == (400, "enabled_events[1]")
    assert list(client.v1.webhook_endpoints.list()) == []


def test_an_update_refuses_them_too(client: stripe.StripeClient) -> None:
    endpoint = client.v1.webhook_endpoints.create(params={"url": "http://127.0.0.1:9/hook", "enabled_events": ["*"]})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.webhook_endpoints.update(endpoint.id, params={"enabled_events": ["refund.exploded"]})
    assert caught.value.param == "enabled_events[0]"
    assert client.v1.webhook_endpoints.retrieve(endpoint.id).enabled_events == ["*"]


def delivered_types(sandbox: Sandbox, listener: WebhookListener) -> list[str]:
    wait_for(lambda: listener.received and sandbox.dispatcher.pending() == 0)
    return sorted(listener.types())


@pytest.mark.parametrize(
    ("enabled", "expected"),
    [
        (["charge.*"], ["charge.succeeded"]),
        (["payment_intent.*", "checkout.session.completed"],
         ["checkout.session.completed", "payment_intent.succeeded"]),
        (["*"], ["charge.succeeded", "checkout.session.completed", "payment_intent.succeeded"]),
    ],
    ids=["charge.*", "group-and-type", "all"],
)  # fmt: skip
def test_wildcards_are_delivered(
    client: stripe.StripeClient, sandbox: Sandbox, listener: WebhookListener, enabled: list[str], expected: list[str]
) -> None:
    client.v1.webhook_endpoints.create(params={"url": listener.url, "enabled_events": enabled})

    pay(client, create_session(client).id, "pm_card_visa")

    assert delivered_types(sandbox, listener) == expected


def test_nested_groups_are_delivered(client: stripe.StripeClient, sandbox: Sandbox, listener: WebhookListener) -> None:
    client.v1.webhook_endpoints.create(params={"url": listener.url, "enabled_events": ["charge.dispute.*"]})
    session = pay(client, create_session(client).id, "pm_card_visa")
    intent = client.v1.payment_intents.retrieve(str(session.payment_intent))
    client.raw_request("post", f"/v1/test_helpers/charges/{intent.latest_charge}/dispute")

    assert delivered_types(sandbox, listener) == ["charge.dispute.created"]


def test_every_event_the_sandbox_sends_is_a_known_type() -> None:
    sent = set()
    for path in SOURCE.glob("*.py"):
        sent |= set(re.findall(r'emit\(\s*"([a-z_.]+)"', path.read_text()))
    assert sent
    assert sent <= event_types.EVENT_TYPES
