"""What bench_webhooks.py sends and reads: Stripe-signed events over keep-alive connections, the sandbox's paid
Checkout Sessions and their `checkout.session.completed` events, and where the worker's time went (cProfile)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import pstats
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from benchkit import BenchError
from benchload import Call, Connection, Exhausted, Run, run_load

WEBHOOK_SECRET = "whsec_bench_webhooks"
STRIPE_KEY = "sk_test_bench_webhooks"


# --- HTTP ------------------------------------------------------------------------------------


def sign(payload: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """Stripe's scheme: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def run_requests(
    base: str,
    items: Sequence[Any],
    concurrency: int,
    call: Callable[[Connection, Any], str | None],
    seconds: float = float("inf"),
) -> Run:
    """Send every item once from ``concurrency`` threads, each with its own connection, or as many as
    ``seconds`` allow. ``call`` returns None or what went wrong; ``Run.sent`` says how many items were sent.
    """
    counter = itertools.count()  # next() is atomic under the GIL

    def make() -> Call:
        connection = Connection(base)

        def send_next() -> str | None:
            k = next(counter)
            if k >= len(items):
                raise Exhausted
            return call(connection, items[k])

        return send_next

    return run_load(make, concurrency, seconds)


def healthz(connection: Connection, _: object) -> str | None:
    status, body = connection.send("GET", "/healthz")
    return None if status == 200 else f"GET /healthz answered {status}: {body[:120]!r}"


def post_event(connection: Connection, payload: bytes) -> str | None:
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload)}
    status, body = connection.send("POST", "/api/stripe/webhook", payload, headers)
    if status != 200:
        return f"webhook answered {status}: {body[:160]!r}"
    if json.loads(body) != {"received": True, "duplicate": False}:
        return f"webhook answered 200 but {body[:160]!r}"
    return None


def customer_event(k: int) -> bytes:
    """A ``customer.created`` event shaped like Stripe's (about 1 KB); no handler, so it would be ignored."""
    created = int(time.time())
    customer = f"cus_bench{k:08d}{uuid.uuid4().hex[:8]}"
    event = {
        "id": f"evt_bench{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": created,
        "data": {
            "object": {
                "id": customer,
                "object": "customer",
                "address": None,
                "balance": 0,
                "created": created,
                "currency": None,
                "default_source": None,
                "delinquent": False,
                "description": None,
                "email": f"bench{k}@example.com",
                "invoice_prefix": uuid.uuid4().hex[:8].upper(),
                "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
                "livemode": False,
                "metadata": {"bench": "webhooks"},
                "name": f"Bench customer {k}",
                "phone": None,
                "preferred_locales": [],
                "shipping": None,
                "tax_exempt": "none",
                "test_clock": None,
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": f"req_{uuid.uuid4().hex[:14]}", "idempotency_key": str(uuid.uuid4())},
        "type": "customer.created",
    }
    return json.dumps(event).encode()


# --- the sandbox -----------------------------------------------------------------------------

SANDBOX_AUTH = {"Authorization": f"Bearer {STRIPE_KEY}"}


def pay_session(connection: Connection, session_id: str) -> str | None:
    body = urlencode({"payment_method": "pm_card_visa"}).encode()
    headers = {**SANDBOX_AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    status, answer = connection.send("POST", f"/v1/test_helpers/checkout/sessions/{session_id}/pay", body, headers)
    if status != 200:
        return f"pay answered {status}: {answer[:160]!r}"
    if json.loads(answer).get("payment_status") != "paid":
        return f"session not paid: {answer[:160]!r}"
    return None


def retrieve_session(connection: Connection, session_id: str) -> str | None:
    """What fulfilment asks Stripe for: the session with its line items and PaymentIntent expanded."""
    query = urlencode([("expand[]", "line_items"), ("expand[]", "payment_intent")])
    status, answer = connection.send("GET", f"/v1/checkout/sessions/{session_id}?{query}", None, SANDBOX_AUTH)
    return None if status == 200 else f"retrieve answered {status}: {answer[:160]!r}"


def completed_events(sandbox: str) -> dict[str, bytes]:
    """The sandbox's ``checkout.session.completed`` events, as Stripe sends them, by session id."""
    connection = Connection(sandbox)
    found: dict[str, bytes] = {}
    after = ""
    while True:
        query = {"type": "checkout.session.completed", "limit": "100"} | ({"starting_after": after} if after else {})
        status, body = connection.send("GET", f"/v1/events?{urlencode(query)}", None, SANDBOX_AUTH)
        if status != 200:
            raise BenchError(f"GET /v1/events answered {status}: {body[:300]!r}")
        page = json.loads(body)
        for event in page["data"]:
            found[event["data"]["object"]["id"]] = json.dumps(event).encode()
        if not page.get("has_more") or not page["data"]:
            return found
        after = page["data"][-1]["id"]


def print_profile(path: Path, orders: int) -> None:
    """Where the worker's main thread spent its busy time (events, then emails), per order, by function."""
    stats = pstats.Stats(str(path))
    batch = "  webhooks.process_batch (claim, apply, record: one transaction)"
    sending = "  emails_send_due (claim, build, send)"
    wanted = [
        ("bookdesk/payments/webhooks.py", "process_batch", batch),
        ("bookdesk/payments/fulfilment.py", "fulfil_paid_sessions", "    fulfil_paid_sessions (the batch's orders)"),
        ("bookdesk/payments/fulfilment.py", "_locked_by_sessions", "      lock the orders and their payments"),
        ("bookdesk/payments/fulfilment.py", "write", "      _Confirmations.write"),
        ("bookdesk/orders/selectors.py", "lines_with_holds_of", "        lines_with_holds_of"),
        ("bookdesk/orders/holds.py", "confirm_holds", "        confirm_holds"),
        ("bookdesk/notifications/services.py", "notify_orders_confirmed", "        notify_orders_confirmed"),
        ("bookdesk/notifications/services.py", "render_email", "          render_email (templates)"),
        ("bookdesk/notifications/ics.py", "calendar_for", "          ics.calendar_for"),
        ("bookdesk/orders/audit.py", "audit_batch", "      audit_batch (the INSERT)"),
        ("bookdesk/payments/webhooks.py", "_finish", "    _finish (the events' new status)"),
        ("bookdesk/payments/webhooks.py", "process", "    webhooks.process (an event applied alone)"),
        ("bookdesk/notifications/services.py", "emails_send_due", sending),
        ("bookdesk/notifications/services.py", "build_message", "    build_message (MIME)"),
        ("psycopg/cursor.py", "execute", "SQL statements (psycopg execute, all of the above)"),
        ("psycopg/connection.py", "commit", "COMMITs"),
    ]
    found: dict[str, tuple[int, float]] = {}
    for (filename, _, function), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        for suffix, name, label in wanted:
            if function == name and filename.endswith(suffix) and found.get(label, (0, -1.0))[1] < cumulative:
                found[label] = (calls, cumulative)
    if not orders or batch not in found:
        print("\nprofile: no event was applied under cProfile")
        return
    # Busy time: applying events and sending emails (the loop's idle polls and sleeps left out).
    busy = found[batch][1] + found.get(sending, (0, 0.0))[1]
    print(f"\nprofile of one worker's main thread over {orders} orders (cProfile; it inflates Python-heavy parts):")
    for _, _, label in wanted:
        if label in found:
            calls, cumulative = found[label]
            print(
                f"  {label:<66}{calls / orders:6.2f} calls/order{cumulative / orders * 1000:8.2f} ms/order"
                f"{cumulative / busy * 100 if busy else 0:6.0f}%"
            )
