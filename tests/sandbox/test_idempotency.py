"""Idempotency-Key as Stripe implements it: replay, mismatch, and concurrent use."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import stripe

from stripe_sandbox.server import Sandbox

from .conftest import control, create_session, make_client, pay, session_params, wait_for


def test_same_key_and_params_replay_the_first_response(client: stripe.StripeClient) -> None:
    first = client.raw_request("post", "/v1/checkout/sessions", **session_params(), idempotency_key="k1")  # type: ignore[arg-type]
    again = client.raw_request("post", "/v1/checkout/sessions", **session_params(), idempotency_key="k1")  # type: ignore[arg-type]
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(client.v1.checkout.sessions.list().data) == 1


def test_same_key_with_other_params_is_an_idempotency_error(client: stripe.StripeClient) -> None:
    client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "k2"})  # type: ignore[arg-type]
    with pytest.raises(stripe.IdempotencyError) as caught:
        client.v1.checkout.sessions.create(
            params=session_params(client_reference_id="other"),  # type: ignore[arg-type]
            options={"idempotency_key": "k2"},
        )
    assert caught.value.http_status == 400
    assert caught.value.error.type == "idempotency_error"


def test_keys_are_per_request_not_per_endpoint(client: stripe.StripeClient) -> None:
    session = create_session(client)
    client.v1.checkout.sessions.expire(session.id, options={"idempotency_key": "k3"})
    with pytest.raises(stripe.IdempotencyError):
        client.v1.refunds.create(params={"charge": "ch_x"}, options={"idempotency_key": "k3"})


def test_a_declined_payment_is_replayed_as_the_same_card_error(client: stripe.StripeClient) -> None:
    session = create_session(client)
    errors = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as caught:
            client.raw_request(
                "post",
                f"/v1/test_helpers/checkout/sessions/{session.id}/pay",
                payment_method="pm_card_chargeDeclined",
                idempotency_key="pay-1",
            )
        errors.append(caught.value)
    assert errors[1].headers.get("Idempotent-Replayed") == "true"
    assert errors[0].json_body == errors[1].json_body
    failures = client.v1.events.list(params={"type": "payment_intent.payment_failed"}).data
    assert len(failures) == 1


def test_validation_errors_are_not_saved(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(params=session_params(mode="setup"), options={"idempotency_key": "k4"})  # type: ignore[arg-type]
    # The request never ran, so the key is free for the corrected request.
    fixed = client.raw_request("post", "/v1/checkout/sessions", **session_params(), idempotency_key="k4")  # type: ignore[arg-type]
    assert "Idempotent-Replayed" not in fixed.headers
    again = client.raw_request("post", "/v1/checkout/sessions", **session_params(), idempotency_key="k4")  # type: ignore[arg-type]
    assert again.headers.get("Idempotent-Replayed") == "true"


def test_concurrent_use_of_a_key_is_a_409(sandbox: Sandbox, base_url: str) -> None:
    # 2 s of latency: the refusals below must come long before it ends, even on a busy machine.
    control(base_url, "POST", "/_sandbox/faults", {"latency_ms": 2000})
    client = make_client(base_url)
    outcomes: dict[str, Any] = {}

    def first() -> None:
        outcomes["first"] = client.v1.checkout.sessions.create(
            params=session_params(),  # type: ignore[arg-type]
            options={"idempotency_key": "busy"},
        )

    thread = threading.Thread(target=first)
    thread.start()
    wait_for(lambda: sandbox.state.in_flight)  # the first holds the key (for its 2 s)
    started = time.monotonic()
    with pytest.raises(stripe.APIError) as caught:
        client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "busy"})  # type: ignore[arg-type]
    assert time.monotonic() - started < 1.0  # refused at once, not queued behind the first
    # Being refused must not free the first's claim: a third try while the first still runs is refused too,
    # never run beside it (it would make a second session under the same key).
    assert sandbox.state.in_flight
    with pytest.raises(stripe.APIError) as again:
        client.v1.checkout.sessions.create(params=session_params(), options={"idempotency_key": "busy"})  # type: ignore[arg-type]
    thread.join()
    assert caught.value.http_status == 409
    assert caught.value.error.code == "idempotency_key_in_use"
    assert again.value.http_status == 409
    assert outcomes["first"].status == "open"

    control(base_url, "DELETE", "/_sandbox/faults")
    replay = client.raw_request("post", "/v1/checkout/sessions", **session_params(), idempotency_key="busy")  # type: ignore[arg-type]
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert len(client.v1.checkout.sessions.list().data) == 1


def test_without_keys_parallel_payments_of_one_session_pay_once(client: stripe.StripeClient) -> None:
    session = create_session(client)
    results: list[str] = []

    def attempt() -> None:
        try:
            pay(client, session.id, "pm_card_visa")
            results.append("paid")
        except stripe.InvalidRequestError:
            results.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["paid"] + ["refused"] * 7
    assert len(client.v1.charges.list().data) == 1
