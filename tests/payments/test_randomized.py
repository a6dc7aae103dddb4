"""A seeded crowd of orders paid in every way while the sandbox drops, duplicates and reorders webhooks.

Deliveries go over HTTP from the sandbox to the live server's intake; the worker's processing and
reconciliation then run as in production. However the deliveries went, every paid session ends as a
confirmed or a refunded order, and every effect (confirmation, email, refund) happened exactly once.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.db import connection
from django.test import Client
from django.utils import timezone

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.orders.models import AuditEntry, Order, OrderStatus
from bookdesk.payments.models import Payment, Refund, WebhookEvent
from bookdesk.payments.reconcile import reconcile
from factories import CourseFactory, UserFactory

from .conftest import pay, run_inbox

pytestmark = [pytest.mark.django_db(transaction=True)]

METHODS = [
    ("pm_card_visa", {}),
    ("pm_card_visa", {}),
    ("pm_card_chargeDeclined", {}),
    ("pm_sepa_debit", {"delayed_outcome": "succeeded", "delay_seconds": 0.3}),
    ("pm_sepa_debit", {"delayed_outcome": "failed", "delay_seconds": 0.3}),
    (None, {}),  # the customer never pays
]


@pytest.fixture
def delivering_sandbox(stripe_sandbox: Any, stripe_client: stripe.StripeClient, live_server: Any, settings: Any) -> Any:
    endpoint = stripe_client.v1.webhook_endpoints.create(
        params={"url": f"{live_server.url}/api/stripe/webhook", "enabled_events": ["*"]}
    )
    settings.STRIPE_WEBHOOK_SECRET = endpoint.secret
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "checkout": "1000/60", "checkout_ip": "100000/60"}
    stripe_sandbox.faults.update({"webhook_drop_rate": 0.3, "webhook_duplicate_rate": 0.4, "webhook_reorder": True})
    yield stripe_sandbox
    stripe_sandbox.faults.reset()
    stripe_client.v1.webhook_endpoints.delete(endpoint.id)


def settle(stripe_client: stripe.StripeClient, sandbox: Any, session_ids: list[str], deadline: float = 20.0) -> None:
    """Let this run's delayed payments settle and deliveries (with their retries) land.

    Only this run's payments are waited for: the sandbox is the test process's, and an earlier test may have
    left a payment processing for good (waiting for it cost the whole deadline, 20 s, on some runs)."""
    end = time.monotonic() + deadline
    intents = [
        intent
        for intent in (stripe_client.v1.checkout.sessions.retrieve(sid).payment_intent for sid in session_ids)
        if intent
    ]
    while time.monotonic() < end:
        statuses = [stripe_client.v1.payment_intents.retrieve(str(intent)).status for intent in intents]
        if "processing" not in statuses:
            break
        time.sleep(0.1)
    # Every delivery sent, held back for reordering or due for a retry has been attempted for good.
    while sandbox.dispatcher.pending() and time.monotonic() < end:
        time.sleep(0.05)
    assert sandbox.dispatcher.pending() == 0, "webhook deliveries still under way"


@pytest.mark.parametrize("seed", [7, 2026])
def test_every_paid_session_ends_confirmed_or_refunded_exactly_once(
    delivering_sandbox: Any, stripe_client: stripe.StripeClient, seed: int
) -> None:
    rng = random.Random(seed)
    courses = [
        CourseFactory(capacity=rng.randint(2, 6), price_amount=rng.choice([1500, 9900, 25000])) for _ in range(3)
    ]
    sessions: dict[str, str] = {}
    for n in range(16):
        client = Client()
        client.force_login(UserFactory(email=f"r{seed}-{n}@example.com"))
        response = client.post(
            "/api/stripe/checkout", {"course_id": rng.choice(courses).pk}, content_type="application/json"
        )
        if response.status_code != 201:
            assert response.json()["code"] == "sold_out"
            continue
        answer = response.json()
        method, params = rng.choice(METHODS)
        if method is None:
            continue
        try:
            pay(stripe_client, answer["session_id"], method, **params)
        except stripe.CardError:
            pay(stripe_client, answer["session_id"], "pm_card_visa")  # declined, then a good card
        sessions[answer["session_id"]] = answer["order"]["code"]
        if rng.random() < 0.2:  # now and then the customer lands on the success page first
            client.get(f"/payment/success?session_id={answer['session_id']}")

    settle(stripe_client, delivering_sandbox, list(sessions))
    with urllib.request.urlopen(f"{delivering_sandbox.base_url}/_sandbox/deliveries", timeout=10) as answer:
        deliveries = json.loads(answer.read())
    errors = Counter(
        str(d.get("error")) for d in (deliveries.get("data") if isinstance(deliveries, dict) else deliveries)
    )
    assert errors["dropped (fault)"] > 0, "the faults did not drop anything: the run proves less than it claims"
    connection.close()
    for _ in range(3):
        run_inbox()
    report = reconcile(since=timezone.now() - timedelta(hours=1))
    assert not report.errors, report.lines()
    run_inbox()

    paid = {
        s.id: s
        for s in (stripe_client.v1.checkout.sessions.retrieve(sid) for sid in sessions)
        if s.payment_status == "paid"
    }
    assert paid, "the seed paid nothing"
    for session_id in paid:
        order = Order.objects.get(code=sessions[session_id])
        assert order.status in (OrderStatus.CONFIRMED, OrderStatus.REFUNDED), (order.code, order.status)
        if order.status == OrderStatus.CONFIRMED:
            assert OutgoingEmail.objects.filter(key=f"order:{order.code}:confirmation").count() == 1
        else:
            assert Refund.objects.filter(payment__order=order).exists()
    confirmations = Counter(AuditEntry.objects.filter(action="order.confirmed").values_list("order__code", flat=True))
    assert all(n == 1 for n in confirmations.values()), confirmations
    assert not WebhookEvent.objects.filter(status__in=["failed", "dead"]).exists()
    assert Payment.objects.filter(status="paid").count() == Order.objects.filter(status="confirmed").count()
    for course in courses:
        assert course.bookings.filter(status__in=["held", "confirmed"]).count() <= course.capacity
