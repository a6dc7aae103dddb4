"""The worker applies stored events in batches: together where it can, and still exactly once.

Sessions are paid in the sandbox and their events delivered to our intake as Stripe would send them;
the inbox is then worked by the real batch processing (`process_due` / `process_batch`), in threads
or in a separate process where a test needs two workers or one that dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.orders.models import AuditEntry, Booking, HoldStatus, Order, OrderStatus
from bookdesk.orders.services import ItemRequest, order_place
from bookdesk.payments import webhooks
from bookdesk.payments.checkout import checkout_start
from bookdesk.payments.models import Payment, WebhookEvent
from factories import CourseFactory, UserFactory
from parallel import at_once

from .conftest import deliver, pay, run_inbox, session_events

pytestmark = pytest.mark.usefixtures("stripe_sandbox")


def paid_orders(stripe_client: stripe.StripeClient, count: int, *, email: str = "") -> list[Order]:
    """Orders placed and checked out through the real services, each paid in the sandbox, events delivered."""
    orders = []
    for _ in range(count):
        user = UserFactory(email=email) if email else UserFactory()
        order = order_place(user=user, items=[ItemRequest(kind="course", course_id=CourseFactory().pk)])
        session_id = checkout_start(order=order, actor="test").session_id or ""
        pay(stripe_client, session_id)
        for event in session_events(stripe_client, session_id):
            assert deliver(event).status_code == 200
        orders.append(order)
    return orders


def confirmed_once(order: Order) -> bool:
    """Confirmed, with its seat, one `order.confirmed` entry and one confirmation email."""
    order.refresh_from_db()
    actions = Counter(AuditEntry.objects.filter(order=order).values_list("action", flat=True))
    return (
        order.status == OrderStatus.CONFIRMED
        and Booking.objects.get(line__order=order).status == HoldStatus.CONFIRMED
        and actions["order.confirmed"] == actions["payment.paid"] == 1
        and OutgoingEmail.objects.filter(key=f"order:{order.code}:confirmation").count() == 1
    )


# --- one batch, several outcomes ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_confirms_every_paid_order_once(stripe_client: stripe.StripeClient) -> None:
    orders = paid_orders(stripe_client, 4)

    run_inbox()
    run_inbox()

    assert all(confirmed_once(order) for order in orders)
    assert set(WebhookEvent.objects.values_list("status", "attempts")) <= {("processed", 1), ("ignored", 1)}
    paid = Payment.objects.filter(order__in=orders)
    assert {(p.status, p.amount_received == p.amount, p.payment_intent_id.startswith("pi_")) for p in paid} == {
        ("paid", True, True)
    }


@pytest.mark.django_db
def test_a_batch_takes_the_same_statements_for_two_orders_as_for_six(stripe_client: stripe.StripeClient) -> None:
    statements = []
    for count in (2, 6):
        orders = paid_orders(stripe_client, count)
        with CaptureQueriesContext(connection) as queries:
            run_inbox()
        assert all(confirmed_once(order) for order in orders)
        statements.append(len(queries))

    assert statements[0] == statements[1]


# --- a failing event in a batch -------------------------------------------------------------------


@pytest.fixture
def confirmation_broken_for(settings: Any, tmp_path: Path) -> Callable[[str], Callable[[], None]]:
    """An operator's edited confirmation subject that fails to render for one customer; returns its fix."""

    def broken(email: str) -> Callable[[], None]:
        folder = tmp_path / "templates" / "notifications"
        folder.mkdir(parents=True)
        (folder / "order_confirmed_subject.txt").write_text(
            f'{{% if order.email == "{email}" %}}{{% url "no-such-page" %}}{{% endif %}}'
            "Your order {{ order.code }} is confirmed"
        )
        working = settings.TEMPLATES
        settings.TEMPLATES = [{**working[0], "DIRS": [tmp_path / "templates", *working[0]["DIRS"]]}]

        def fix() -> None:
            settings.TEMPLATES = working

        return fix

    return broken


@pytest.mark.django_db
def test_a_failing_event_is_recorded_and_the_rest_of_its_batch_succeeds(
    stripe_client: stripe.StripeClient,
    settings: Any,
    confirmation_broken_for: Callable[[str], Callable[[], None]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bookdesk.payments.webhooks import replay

    settings.WEBHOOK_MAX_ATTEMPTS = 2
    fix = confirmation_broken_for("broken@example.com")
    good = paid_orders(stripe_client, 2)
    (bad,) = paid_orders(stripe_client, 1, email="broken@example.com")
    good += paid_orders(stripe_client, 2)
    bad_session = Payment.objects.get(order=bad).session_id

    webhooks.process_due()

    assert "applying them one at a time" in caplog.text  # the batch held all of them, and rolled back
    assert all(confirmed_once(order) for order in good)
    failed = WebhookEvent.objects.get(type="checkout.session.completed", payload__data__object__id=bad_session)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "NoReverseMatch" in failed.last_error
    bad.refresh_from_db()
    assert bad.status == OrderStatus.PENDING
    assert Booking.objects.get(line__order=bad).status == HoldStatus.HELD
    assert not AuditEntry.objects.filter(order=bad, action__in=["payment.paid", "order.confirmed"]).exists()
    assert not OutgoingEmail.objects.filter(order=bad).exists()
    assert Payment.objects.get(order=bad).status == Payment.Status.OPEN

    run_inbox()  # its backoff skipped: the second attempt, the last

    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("dead", 2)
    assert run_inbox() == 0  # a dead event waits for an operator

    fix()
    assert replay(failed.pk) == "processed"
    assert confirmed_once(bad)
    assert all(confirmed_once(order) for order in good)


# --- workers that die, workers side by side -------------------------------------------------------


DYING_WORKER = "bookdesk-dying-worker"


def worker_url() -> str:
    """The test database as a worker process reaches it, its connection named so that it can be found."""
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}?application_name={DYING_WORKER}"
    )


def dying_worker_backend() -> list[str]:
    """The wait event type of the worker process's database connection, while it has one."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees the view as it first read it
        cursor.execute(
            "SELECT coalesce(wait_event_type, '') FROM pg_stat_activity WHERE application_name = %s", [DYING_WORKER]
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_all_of_its_events_due(stripe_client: stripe.StripeClient) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("stopping a worker inside its batch takes a row lock: PostgreSQL")
    orders = paid_orders(stripe_client, 4)
    completed = WebhookEvent.objects.filter(type="checkout.session.completed")
    env = {**os.environ, "DATABASE_URL": worker_url(), "DJANGO_SETTINGS_MODULE": "bookdesk.test_settings"}
    worker_code = "import django; django.setup(); from bookdesk.payments import webhooks; webhooks.process_due()"

    with transaction.atomic():
        # Holding the last order's row lock stops the worker inside its batch, its events claimed.
        Order.objects.select_for_update().get(pk=max(order.pk for order in orders))
        worker = subprocess.Popen([sys.executable, "-c", worker_code], env=env)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and dying_worker_backend() != ["Lock"]:
                assert worker.poll() is None, "the worker exited before it was stopped"
                time.sleep(0.05)
            assert dying_worker_backend() == ["Lock"]
            # Another worker meanwhile finds nothing to take: the batch holds every event.
            assert list(webhooks._skip_locked(WebhookEvent.objects.filter(status="received"))) == []
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
    # The lock is free: the dead worker's connection finds its client gone and rolls the batch back.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and dying_worker_backend():
        time.sleep(0.05)

    assert not dying_worker_backend()
    assert set(completed.values_list("status", "attempts")) == {("received", 0)}
    assert set(Order.objects.filter(pk__in=[order.pk for order in orders]).values_list("status", flat=True)) == {
        "pending"
    }
    assert not OutgoingEmail.objects.exists()

    run_inbox()

    assert all(confirmed_once(order) for order in orders)


@pytest.mark.django_db(transaction=True)
def test_without_the_claim_two_workers_see_the_same_due_events(stripe_client: stripe.StripeClient) -> None:
    paid_orders(stripe_client, 3)

    def due() -> set[str]:
        return set(WebhookEvent.objects.filter(status="received").values_list("stripe_id", flat=True))

    first, second = at_once(2, due)

    assert first == second
    assert len(first) >= 3


@pytest.mark.django_db(transaction=True)
def test_two_workers_side_by_side_never_apply_one_event_twice(stripe_client: stripe.StripeClient) -> None:
    orders = paid_orders(stripe_client, 8)
    lapsed = []
    for _ in range(2):  # sessions that expire: their events are applied alone, after a batch
        order = order_place(user=UserFactory(), items=[ItemRequest(kind="course", course_id=CourseFactory().pk)])
        session_id = checkout_start(order=order, actor="test").session_id or ""
        stripe_client.v1.checkout.sessions.expire(session_id)
        for event in session_events(stripe_client, session_id):
            deliver(event)
        lapsed.append(order)
    events = WebhookEvent.objects.count()

    def work() -> None:
        while webhooks.process_batch(now=timezone.now(), size=3):  # small batches: the two take turns
            pass

    at_once(2, work)
    run_inbox()  # anything one of them skipped while the other held it

    assert WebhookEvent.objects.count() == events
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}  # each applied once
    assert all(confirmed_once(order) for order in orders)
    for order in lapsed:
        order.refresh_from_db()
        assert order.status == OrderStatus.EXPIRED
        assert Counter(AuditEntry.objects.filter(order=order).values_list("action", flat=True))["order.expired"] == 1
