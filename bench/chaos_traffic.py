"""The chaos run's customers: each places orders over the API and pays (or not) in one of several ways.

A customer is a thread with its own session token and keep-alive connection. Each order is one scenario,
drawn from the run's seeded random generator:

- a course seat (the courses are small, so customers race for the last seats);
- a beat licence: a lease or the exclusive of one of a few beats (exclusive-against-lease races);
- a mixed cart (a seat and a lease);

and one way to pay: a card; a declined card, then a good one; SEPA that succeeds or fails later; never
(the hold lapses); or twice — the session paid while the customer asks for a new payment page at the
same moment (one payment must be kept, the other refunded).

Every answer's status is counted; a 5xx is a failure of the run whatever else held.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import stripe

from benchload import Connection

SCENARIOS = (("seat", 60), ("lease", 15), ("exclusive", 5), ("mixed", 20))
PAYMENTS = (
    ("card", 55),
    ("declined_then_card", 10),
    ("sepa_succeeds", 8),
    ("sepa_fails", 5),
    ("abandon", 12),
    ("twice", 10),
)


def pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights=weights)[0]


@dataclass
class Catalog:
    course_ids: list[int]
    beats: list[dict[str, int]]  # {"product": id, "basic": licence id, "exclusive": licence id}


@dataclass
class Tally:
    """What the customers did and what they were answered, shared by their threads."""

    statuses: Counter[int] = field(default_factory=Counter)
    scenarios: Counter[str] = field(default_factory=Counter)
    payments: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # a refusal code -> the first detail seen
    server_errors: list[str] = field(default_factory=list)
    orders: dict[str, str] = field(default_factory=dict)  # order code -> how it was paid
    sessions: dict[str, str] = field(default_factory=dict)  # session id -> order code
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, method: str, path: str, status: int, body: bytes) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status >= 500:
                self.server_errors.append(f"{method} {path} -> {status}: {body[:200]!r}")


class Customer:
    def __init__(self, base: str, token: str, tally: Tally, stripe_client: stripe.StripeClient) -> None:
        self.conn = Connection(base)
        self.token = token
        self.tally = tally
        self.stripe = stripe_client

    def call(self, method: str, path: str, payload: Any = None) -> tuple[int, dict[str, Any]]:
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"X-Session-Token": self.token, "Content-Type": "application/json"}
        for attempt in range(5):
            try:
                status, data = self.conn.send(method, path, body, headers)
                break
            except OSError:
                time.sleep(0.2 * (attempt + 1))  # the server is being restarted: a client retries
        else:
            raise OSError(f"{method} {path}: no answer after 5 tries")
        self.tally.count(method, path, status, data)
        try:
            return status, json.loads(data) if data else {}
        except ValueError:
            return status, {"raw": data[:200].decode(errors="replace")}

    def order(self, rng: random.Random, catalog: Catalog) -> None:
        scenario = pick(rng, SCENARIOS)
        self.tally.scenarios[scenario] += 1
        items = self._items(rng, scenario, catalog)
        for item in items:
            status, body = self.call("POST", "/api/cart/items", item)
            if status != 201:
                self._refused(body)
        status, answer = self.call("POST", "/api/checkout")
        if status != 201:
            self._refused(answer)
            self._empty_cart()
            return
        code, session_id = answer["order"]["code"], answer["session_id"]
        how = pick(rng, PAYMENTS)
        with self.tally.lock:
            self.tally.orders[code] = how
            self.tally.sessions[session_id] = code
            self.tally.payments[how] += 1
        self._pay(how, code, session_id)

    def _items(self, rng: random.Random, scenario: str, catalog: Catalog) -> list[dict[str, Any]]:
        seat = {"kind": "course", "course_id": rng.choice(catalog.course_ids)}
        beat = rng.choice(catalog.beats)
        lease = {"kind": "product", "product_id": beat["product"], "license_id": beat["basic"]}
        if scenario == "seat":
            return [seat]
        if scenario == "lease":
            return [lease]
        if scenario == "exclusive":
            return [{"kind": "product", "product_id": beat["product"], "license_id": beat["exclusive"]}]
        return [seat, lease]

    def _refused(self, body: dict[str, Any]) -> None:
        code = str(body.get("code", body.get("raw", "?")))
        with self.tally.lock:
            self.tally.refusals[code] += 1
            self.tally.examples.setdefault(code, str(body.get("detail", ""))[:120])

    def _empty_cart(self) -> None:
        status, cart = self.call("GET", "/api/cart")
        for line in cart.get("items", []) if status == 200 else []:
            self.call("DELETE", f"/api/cart/items/{line['id']}")

    def _pay(self, how: str, code: str, session_id: str) -> None:
        if how == "abandon":
            return
        if how == "card":
            self._helper_pay(session_id, "pm_card_visa")
        elif how == "declined_then_card":
            self._helper_pay(session_id, "pm_card_chargeDeclined")
            self._helper_pay(session_id, "pm_card_visa")
        elif how == "sepa_succeeds":
            self._helper_pay(session_id, "pm_sepa_debit", delayed_outcome="succeeded", delay_seconds=1)
        elif how == "sepa_fails":
            self._helper_pay(session_id, "pm_sepa_debit", delayed_outcome="failed", delay_seconds=1)
        elif how == "twice":
            # The customer pays on the hosted page while asking, in another tab, for a new payment page.
            retry = threading.Thread(target=self._retry_and_pay, args=(code,))
            retry.start()
            self._helper_pay(session_id, "pm_card_visa")
            retry.join()

    def _retry_and_pay(self, code: str) -> None:
        status, answer = self.call("POST", f"/api/orders/{code}/retry-payment")
        if status == 201 and answer.get("session_id"):
            with self.tally.lock:
                self.tally.sessions[answer["session_id"]] = code
            self._helper_pay(answer["session_id"], "pm_card_visa")
        elif status >= 400:
            self._refused(answer)

    def _helper_pay(self, session_id: str, method: str, **params: Any) -> None:
        """The test helper that stands for the customer on Stripe's page; the sandbox's injected API errors
        are retried as a browser would resubmit."""
        for _ in range(6):
            try:
                self.stripe.raw_request(
                    "post", f"/v1/test_helpers/checkout/sessions/{session_id}/pay", payment_method=method, **params
                )
                return
            except stripe.CardError:
                return  # declined: the session stays open for another card
            except stripe.InvalidRequestError:
                return  # expired or already paid meanwhile (a retry expired it): nothing to pay
            except stripe.StripeError:
                time.sleep(0.1)


def run_customers(
    base: str, tokens: list[str], catalog: Catalog, *, orders: int, seed: int, stripe_client: stripe.StripeClient
) -> Tally:
    """`orders` orders spread over one thread per token, each thread with its own seeded generator."""
    tally = Tally()
    left = iter(range(orders))
    left_lock = threading.Lock()
    failures: list[BaseException] = []

    def customer(n: int, token: str) -> None:
        rng = random.Random(seed * 1000 + n)
        me = Customer(base, token, tally, stripe_client)
        while True:
            with left_lock:
                if next(left, None) is None:
                    return
            try:
                me.order(rng, catalog)
            except BaseException as exc:  # a crashed customer is reported, the others go on
                failures.append(exc)
                return

    threads = [threading.Thread(target=customer, args=(n, t), daemon=True) for n, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return tally
