"""State in a --db file survives a restart."""

from __future__ import annotations

from pathlib import Path

import stripe

from stripe_sandbox.server import Sandbox

from .conftest import create_session, make_client, pay


def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.sqlite3")
    first = Sandbox(db)
    client = make_client(first.start())
    session = create_session(client)
    paid = pay(client, session.id, "pm_card_visa")
    refund = client.v1.refunds.create(params={"payment_intent": paid.payment_intent, "amount": 100})  # type: ignore[typeddict-item]
    replayed_first = client.raw_request("post", "/v1/refunds", charge=refund.charge, amount=100, idempotency_key="r2")
    events = [e.id for e in client.v1.events.list(params={"limit": 100}).data]
    first.stop()

    second = Sandbox(db)
    base_url = second.start()
    try:
        client = make_client(base_url)
        found = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
        assert (found.status, found.payment_status) == ("complete", "paid")
        assert len(found.line_items.data) == 2
        assert client.v1.refunds.retrieve(refund.id).amount == 100
        assert client.v1.charges.retrieve(refund.charge).amount_refunded == 200  # type: ignore[arg-type]
        assert [e.id for e in client.v1.events.list(params={"limit": 100}).data] == events
        replayed = client.raw_request("post", "/v1/refunds", charge=refund.charge, amount=100, idempotency_key="r2")
        assert replayed.headers.get("Idempotent-Replayed") == "true"
        assert replayed.body == replayed_first.body
        open_session = create_session(client)
        assert open_session.url.startswith(base_url)
    finally:
        second.stop()


def test_the_default_store_is_in_memory(client: stripe.StripeClient, sandbox: Sandbox) -> None:
    assert sandbox.store.path is None
