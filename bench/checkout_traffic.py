"""What bench_checkout.py sends: `GET /healthz`, `POST /api/stripe/checkout` for distinct (customer, course)
pairs, and the SDK's `checkout.sessions.create` straight to the sandbox, each as a call of `benchload.run_load`."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable

import stripe

from benchload import Call, Connection, Exhausted

# --- load ------------------------------------------------------------------------------------


def healthz_call(base: str) -> Callable[[], Call]:
    def make() -> Call:
        connection = Connection(base)

        def call() -> str | None:
            status, body = connection.send("GET", "/healthz")
            return None if status == 200 else f"{status}: GET /healthz {body[:160]!r}"

        return call

    return make


def checkout_call(base: str, pairs: Pairs) -> Callable[[], Call]:
    def make() -> Call:
        connection = Connection(base)

        def call() -> str | None:
            try:
                token, course_id = next(pairs)
            except StopIteration:
                raise Exhausted("ran out of (user, course) pairs") from None
            body = json.dumps({"course_id": course_id}).encode()
            headers = {"Content-Type": "application/json", "X-Session-Token": token}
            status, answer = connection.send("POST", "/api/stripe/checkout", body, headers)
            if status != 201:
                return f"{status}: POST /api/stripe/checkout {answer[:200]!r}"
            if b'"checkout_url"' not in answer:
                return f"201 without checkout_url: {answer[:200]!r}"
            return None

        return call

    return make


def cart_checkout_call(base: str, pairs: Pairs) -> Callable[[], Call]:
    """`POST /api/checkout` of each customer's cart once (a vinyl record and a course seat: shipping options)."""

    def make() -> Call:
        connection = Connection(base)

        def call() -> str | None:
            try:
                token, _ = next(pairs)
            except StopIteration:
                raise Exhausted("ran out of customers with a cart") from None
            headers = {"Content-Type": "application/json", "X-Session-Token": token}
            status, answer = connection.send("POST", "/api/checkout", b"{}", headers)
            if status != 201:
                return f"{status}: POST /api/checkout {answer[:200]!r}"
            if b'"checkout_url"' not in answer:
                return f"201 without checkout_url: {answer[:200]!r}"
            return None

        return call

    return make


def sandbox_call(base: str) -> Callable[[], Call]:
    """The SDK's session create straight to the sandbox, shaped like the app's (lines, metadata, key)."""
    params = {
        "mode": "payment",
        "client_reference_id": "BENCH",
        "customer_email": "bench@example.com",
        "expires_at": int(time.time()) + 3600,
        "success_url": "http://127.0.0.1:8000/payment/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:8000/payment/cancel?order=BENCH",
        "metadata": {"order": "BENCH", "user": "1", "type": "course", "total": "4500", "currency": "eur"},
        "payment_intent_data": {"metadata": {"order": "BENCH"}},
        "line_items": [
            {
                "quantity": 1,
                "price_data": {"currency": "eur", "unit_amount": 4500, "product_data": {"name": "Bench course"}},
            }
        ],
    }

    def make() -> Call:
        client = stripe.StripeClient(
            "sk_test_bench",
            base_addresses={"api": base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=(3.05, 15)),
        )

        def call() -> str | None:
            options = {"idempotency_key": f"bench:{uuid.uuid4().hex}"}
            client.v1.checkout.sessions.create(params=params, options=options)  # type: ignore[arg-type]
            return None

        return call

    return make


class Pairs:
    """Every (user, course) pair once, neighbours differing in both (so concurrent requests spread out).

    With coprime counts, k → (k mod users, k mod courses) is one-to-one for k < users × courses.
    """

    def __init__(self, tokens: list[str], courses: list[int]) -> None:
        self.tokens, self.courses = tokens, courses
        self.counter = itertools.count()  # next() on it is atomic under the GIL

    def __iter__(self) -> Pairs:
        return self

    def __next__(self) -> tuple[str, int]:
        k = next(self.counter)
        if k >= len(self.tokens) * len(self.courses):
            raise StopIteration
        return self.tokens[k % len(self.tokens)], self.courses[k % len(self.courses)]
