"""Fixtures: an in-process sandbox on a free port, the real SDK pointed at it, and a real
HTTP listener for webhooks. No Django here: these run with ``-p no:django`` too.

The sandbox's clock stands still until a test moves it (``sandbox.clock.advance`` or
``POST /_sandbox/clock``): retries, expiry and delayed settlement happen when the test says so,
and that something did not happen is read from the sandbox (nothing left to deliver), never
waited out.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import stripe

from stripe_sandbox.clock import ManualClock
from stripe_sandbox.server import Sandbox

# Stripe's own example objects (fixtures3.json from Stripe's OpenAPI repository, MIT: see the LICENSE beside it).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stripe_fixtures3.json"
API_KEY = "sk_test_sandbox_tests"
RETRIES = (0.05, 0.1, 0.2, 0.4)  # seconds of sandbox clock between 5 attempts


@pytest.fixture(scope="session")
def stripe_fixtures() -> dict[str, Any]:
    return json.loads(FIXTURES.read_text())["resources"]  # type: ignore[no-any-return]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sandbox = Sandbox(webhook_retry_schedule=RETRIES, webhook_timeout=1.0, seed=1234, clock=ManualClock())
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def base_url(sandbox: Sandbox) -> str:
    return sandbox.base_url


def make_client(base_url: str, **options: Any) -> stripe.StripeClient:
    options.setdefault("max_network_retries", 0)
    return stripe.StripeClient(API_KEY, base_addresses={"api": base_url}, **options)


@pytest.fixture
def client(base_url: str) -> stripe.StripeClient:
    return make_client(base_url)


@pytest.fixture
def module_api_base(base_url: str) -> Iterator[str]:
    """The SDK's module-level configuration pointed at the sandbox, restored afterwards."""
    saved = stripe.api_base, stripe.api_key, stripe.max_network_retries
    stripe.api_base, stripe.api_key, stripe.max_network_retries = base_url, API_KEY, 0
    yield base_url
    stripe.api_base, stripe.api_key, stripe.max_network_retries = saved


def session_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": "http://shop.test/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://shop.test/cancel",
        "client_reference_id": "BK-1001",
        "customer_email": "ada@example.com",
        "metadata": {"order": "BK-1001", "user": "7"},
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 2500,
                    "product_data": {"name": "Pottery course", "description": "Six evenings"},
                },
                "quantity": 2,
            },
            {
                "price_data": {"currency": "eur", "unit_amount": 900, "product_data": {"name": "Clay"}},
                "quantity": 1,
            },
        ],
    }
    params.update(overrides)
    return params


def create_session(client: stripe.StripeClient, **overrides: Any) -> stripe.checkout.Session:
    return client.v1.checkout.sessions.create(params=session_params(**overrides))  # type: ignore[arg-type]


def pay(client: stripe.StripeClient, session_id: str, payment_method: str, **params: Any) -> stripe.checkout.Session:
    """The sandbox's test helper, through the SDK's raw request support."""
    response = client.raw_request(
        "post",
        f"/v1/test_helpers/checkout/sessions/{session_id}/pay",
        payment_method=payment_method,
        **params,
    )
    return client.deserialize(response, api_mode="V1")  # type: ignore[return-value]


def control(base_url: str, method: str, path: str, data: dict[str, Any] | None = None) -> tuple[int, Any]:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(
        base_url + path, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@dataclass
class Received:
    body: bytes
    signature: str
    headers: dict[str, str]
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class WebhookListener:
    """A real HTTP server that records every delivery; ``respond`` picks each status."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    respond: Callable[[int], int] = lambda attempt: 200
    delay: Callable[[int], float] = lambda attempt: 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [item.event for item in self.received]

    def types(self) -> list[str]:
        return [event["type"] for event in self.events()]


@pytest.fixture
def listener() -> Iterator[WebhookListener]:
    state = WebhookListener()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                attempt = len(state.received) + 1
                state.received.append(
                    Received(body, self.headers.get("Stripe-Signature", ""), dict(self.headers), time.monotonic())
                )
            time.sleep(state.delay(attempt))
            status = state.respond(attempt)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
    # Polled every 50 ms, so that shutting it down at the test's end takes no more (the default is 0.5 s).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(client: stripe.StripeClient, listener: WebhookListener) -> stripe.WebhookEndpoint:
    """A webhook endpoint for every event, pointing at the test's listener."""
    return client.v1.webhook_endpoints.create(params={"url": listener.url, "enabled_events": ["*"]})
