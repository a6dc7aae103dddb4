"""Fault injection through the control API: latency, 5xx, 429."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_sandbox.server import Sandbox

from .conftest import control, make_client


def test_health(base_url: str) -> None:
    assert control(base_url, "GET", "/_sandbox/health")[0] == 200


def test_faults_can_be_read_set_and_reset(base_url: str) -> None:
    status, faults = control(base_url, "GET", "/_sandbox/faults")
    assert status == 200
    assert faults["latency_ms"] == 0
    status, faults = control(base_url, "POST", "/_sandbox/faults", {"latency_ms": 5, "webhook_reorder": True})
    assert (status, faults["latency_ms"], faults["webhook_reorder"]) == (200, 5, True)
    assert control(base_url, "POST", "/_sandbox/faults", {"error_rate": 2})[0] == 400
    assert control(base_url, "POST", "/_sandbox/faults", {"nonsense": 1})[0] == 400
    assert control(base_url, "GET", "/_sandbox/faults")[1]["latency_ms"] == 5
    status, faults = control(base_url, "DELETE", "/_sandbox/faults")
    assert (faults["latency_ms"], faults["webhook_reorder"]) == (0, False)


def test_the_control_api_accepts_form_bodies(base_url: str) -> None:
    import urllib.request

    request = urllib.request.Request(base_url + "/_sandbox/faults", data=b"latency_ms=7", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    assert control(base_url, "GET", "/_sandbox/faults")[1]["latency_ms"] == 7


def test_latency_slows_api_requests(client: stripe.StripeClient, base_url: str) -> None:
    started = time.monotonic()
    client.v1.events.list()
    fast = time.monotonic() - started
    control(base_url, "POST", "/_sandbox/faults", {"latency_ms": 300})
    started = time.monotonic()
    client.v1.events.list()
    slow = time.monotonic() - started
    assert slow >= 0.3
    assert slow > fast
    # The control API is never slowed: with 3 s of latency it answers in a fraction of that (a busy machine once
    # took 0.6 s for this request, so the bound is half the fault, not a tight figure).
    control(base_url, "POST", "/_sandbox/faults", {"latency_ms": 3000})
    started = time.monotonic()
    control(base_url, "GET", "/_sandbox/health")
    assert time.monotonic() - started < 1.5


def test_error_rate_raises_api_error(client: stripe.StripeClient, base_url: str) -> None:
    control(base_url, "POST", "/_sandbox/faults", {"error_rate": 1})
    with pytest.raises(stripe.APIError) as caught:
        client.v1.events.list()
    assert caught.value.http_status == 500


def test_rate_limit_raises_rate_limit_error(client: stripe.StripeClient, base_url: str) -> None:
    control(base_url, "POST", "/_sandbox/faults", {"rate_limit_rate": 1})
    with pytest.raises(stripe.RateLimitError) as caught:
        client.v1.events.list()
    assert caught.value.http_status == 429


def test_the_sdk_retries_through_intermittent_errors(sandbox: Sandbox, base_url: str) -> None:
    control(base_url, "POST", "/_sandbox/faults", {"error_rate": 0.5})
    retrying = make_client(base_url, max_network_retries=8)
    for _ in range(5):
        retrying.v1.events.list()


def test_cli_flags_build_faults() -> None:
    from stripe_sandbox.faults import Faults

    faults = Faults(latency_ms=10, error_rate=0.1, webhook_reorder=True)
    assert faults.to_dict()["error_rate"] == 0.1
    with pytest.raises(Exception, match="Invalid value"):
        Faults(error_rate=1.5)


def test_a_script_of_faults_is_played_one_step_per_request(base_url: str) -> None:
    client = make_client(base_url)
    status, faults = control(base_url, "POST", "/_sandbox/faults", {"script": ["error", "rate_limit", "slow:200"]})
    assert (status, faults["script"]) == (200, ["error", "rate_limit", "slow:200"])
    with pytest.raises(stripe.APIError):
        client.v1.payment_intents.list()
    with pytest.raises(stripe.RateLimitError):
        client.v1.payment_intents.list()
    started = time.monotonic()
    client.v1.payment_intents.list()
    assert time.monotonic() - started >= 0.2
    client.v1.payment_intents.list()  # the script is used up: a normal answer
    assert control(base_url, "GET", "/_sandbox/faults")[1]["script"] == []
    assert control(base_url, "POST", "/_sandbox/faults", {"script": ["explode"]})[0] == 400
