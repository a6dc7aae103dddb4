"""Reconciliation keeps its last run in the database, so workers that restart more often than its interval
still reconcile; and it checks both ways: an order we hold as paid whose session Stripe does not show as
paid goes to review."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.test import Client
from django.utils import timezone

from bookdesk.orders.models import AuditEntry, Order, OrderStatus
from bookdesk.payments.models import Payment, ReconcileRun
from bookdesk.payments.reconcile import reconcile, reconcile_if_due
from bookdesk.worker.loop import run
from factories import CourseFactory, StaffUserFactory, UserFactory

from .conftest import book, deliver, pay, run_inbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


@pytest.fixture
def every_15_minutes(settings: Any) -> int:
    settings.RECONCILE_INTERVAL_SECONDS = 900
    return 900


def paid_without_webhooks(stripe_client: stripe.StripeClient) -> Order:
    client = Client()
    client.force_login(UserFactory())
    answer = book(client, CourseFactory().pk)
    pay(stripe_client, answer["session_id"])
    return Order.objects.get(code=answer["order"]["code"])


def test_reconcile_runs_when_due_and_records_its_run(every_15_minutes: int) -> None:
    start = timezone.now()

    assert reconcile_if_due(now=start) is not None  # it never ran: due
    assert reconcile_if_due(now=start + timedelta(seconds=60)) is None  # ran a minute ago
    assert reconcile_if_due(now=start + timedelta(seconds=every_15_minutes - 1)) is None
    assert reconcile_if_due(now=start + timedelta(seconds=every_15_minutes + 1)) is not None

    runs = list(ReconcileRun.objects.order_by("started_at"))
    assert len(runs) == 2
    assert all(r.finished_at is not None and r.errors == 0 for r in runs)


def test_an_unfinished_run_of_a_killed_worker_does_not_block_reconciliation_for_long(every_15_minutes: int) -> None:
    start = timezone.now()
    ReconcileRun.objects.create(started_at=start, since=start - timedelta(hours=72))  # killed mid-run

    assert reconcile_if_due(now=start + timedelta(seconds=30)) is None  # it may still be running
    assert reconcile_if_due(now=start + timedelta(minutes=11)) is not None  # it is not: run again


def test_no_interval_means_the_worker_never_reconciles(settings: Any) -> None:
    settings.RECONCILE_INTERVAL_SECONDS = 0
    assert reconcile_if_due(now=timezone.now()) is None
    assert not ReconcileRun.objects.exists()


def start_worker() -> None:
    """A worker that starts and is stopped at once: what a worker restarted every few seconds does."""
    stop = threading.Event()
    stop.set()
    run(stop, interval=0.01, sweep_interval=10)


@pytest.mark.django_db(transaction=True)  # the worker closes its connections as a long-running process must
def test_workers_restarting_often_still_reconcile(every_15_minutes: int, stripe_client: stripe.StripeClient) -> None:
    order = paid_without_webhooks(stripe_client)

    start_worker()  # the first start reconciles: it never ran

    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert ReconcileRun.objects.count() == 1

    for _ in range(3):  # restarts within the interval: not due again
        start_worker()
    assert ReconcileRun.objects.count() == 1

    ReconcileRun.objects.update(started_at=timezone.now() - timedelta(seconds=every_15_minutes + 1))
    start_worker()  # a restart after the interval: due, measured from the last run, not from this start
    assert ReconcileRun.objects.count() == 2


# --- the other way: paid here, not paid at Stripe --------------------------------------------------


def forged_completion(stripe_client: stripe.StripeClient) -> tuple[Order, str]:
    """An order confirmed from a signed `completed` event whose session Stripe still shows open (a leaked
    webhook secret, or a bug): we hold it as paid; Stripe does not."""
    client = Client()
    client.force_login(UserFactory())
    answer = book(client, CourseFactory().pk)
    session = stripe_client.v1.checkout.sessions.retrieve(answer["session_id"]).to_dict()
    session.update(status="complete", payment_status="paid", payment_intent="pi_forged_0001")
    event = {
        "id": "evt_forged_0001",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(timezone.now().timestamp()),
        "livemode": False,
        "data": {"object": json.loads(json.dumps(session))},
    }
    assert deliver(event).status_code == 200
    run_inbox()
    order = Order.objects.get(code=answer["order"]["code"])
    assert order.status == OrderStatus.CONFIRMED  # from the signed payload, as a final session is applied
    return order, answer["session_id"]


def test_a_confirmed_order_whose_session_stripe_shows_open_goes_to_review(stripe_client: stripe.StripeClient) -> None:
    order, session_id = forged_completion(stripe_client)

    report = reconcile(since=timezone.now() - timedelta(hours=1))

    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert session_id in order.review_reason
    assert "not paid" in order.review_reason
    entry = AuditEntry.objects.get(order=order, action="order.needs_review")
    assert entry.actor == "reconcile"
    assert any(order.code in fix for fix in report.fixes)
    # Reconciling again changes nothing more.
    again = reconcile(since=timezone.now() - timedelta(hours=1))
    assert not any(order.code in fix for fix in again.fixes)
    assert AuditEntry.objects.filter(order=order, action="order.needs_review").count() == 1


def test_a_confirmed_order_whose_session_expired_at_stripe_goes_to_review(stripe_client: stripe.StripeClient) -> None:
    order, session_id = forged_completion(stripe_client)
    stripe_client.v1.checkout.sessions.expire(session_id)

    reconcile(since=timezone.now() - timedelta(hours=1))

    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert "expired" in order.review_reason


def test_a_paid_payment_whose_session_stripe_does_not_know_goes_to_review(stripe_client: stripe.StripeClient) -> None:
    order, _ = forged_completion(stripe_client)
    Payment.objects.filter(order=order).update(session_id="cs_test_unknown_to_stripe")

    reconcile(since=timezone.now() - timedelta(hours=1))

    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert "cs_test_unknown_to_stripe" in order.review_reason


def test_a_genuinely_paid_order_is_left_alone(stripe_client: stripe.StripeClient) -> None:
    order = paid_without_webhooks(stripe_client)
    reconcile(since=timezone.now() - timedelta(hours=1))
    reconcile(since=timezone.now() - timedelta(hours=1))
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


def test_operators_see_the_runs_in_the_admin(every_15_minutes: int) -> None:
    reconcile_if_due(now=timezone.now())
    staff = Client()
    staff.force_login(StaffUserFactory())
    page = staff.get("/admin/payments/reconcilerun/")
    assert page.status_code == 200
    run = ReconcileRun.objects.get()
    assert "Reconciled since" in staff.get(f"/admin/payments/reconcilerun/{run.pk}/change/").text
