"""From Stripe's events to confirmed orders, exactly once: the sandbox pays, our inbox applies.

Events are taken from the sandbox's own event list and delivered to our intake signed, as Stripe
would (duplicates and wrong order included); `run_inbox` is the worker's processing.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.orders.models import AuditEntry, Booking, HoldStatus, Order, OrderStatus
from bookdesk.orders.services import order_expire
from bookdesk.payments import webhooks
from bookdesk.payments.checkout import checkout_start
from bookdesk.payments.models import Payment, Refund, WebhookEvent
from factories import CourseFactory, UserFactory, signed_in
from problems import assert_problem

from .conftest import book, deliver, intent_events, pay, run_inbox, session_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


@pytest.fixture
def customer() -> Client:
    return signed_in(UserFactory(email="ada@example.com"))


def deliver_all(stripe_client: stripe.StripeClient, session_id: str, *, times: int = 1) -> list[dict[str, Any]]:
    events = session_events(stripe_client, session_id)
    for _ in range(times):
        for event in events:
            assert deliver(event).status_code == 200
    return events


def order_of(answer: dict[str, Any]) -> Order:
    return Order.objects.get(code=answer["order"]["code"])


def wait_for_event(stripe_client: stripe.StripeClient, session_id: str, kind: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e["type"] == kind for e in session_events(stripe_client, session_id)):
            return
        time.sleep(0.05)
    raise AssertionError(f"no {kind} for {session_id}")


def test_a_paid_session_confirms_the_order_once(customer: Client, stripe_client: stripe.StripeClient) -> None:
    course = CourseFactory(capacity=3)
    answer = book(customer, course.pk)
    pay(stripe_client, answer["session_id"])

    events = deliver_all(stripe_client, answer["session_id"], times=3)  # every event delivered three times
    run_inbox()
    run_inbox()

    order = order_of(answer)
    assert order.status == OrderStatus.CONFIRMED
    assert Booking.objects.get(line__order=order).status == HoldStatus.CONFIRMED
    assert Payment.objects.get(order=order).status == Payment.Status.PAID
    assert WebhookEvent.objects.count() == len(events)
    statuses = dict(WebhookEvent.objects.values_list("type", "status"))
    assert statuses["checkout.session.completed"] == "processed"
    assert statuses.get("charge.succeeded", "ignored") == "ignored"
    actions = list(AuditEntry.objects.filter(order=order).values_list("action", flat=True))
    assert actions.count("order.confirmed") == 1
    assert actions.count("payment.paid") == 1
    assert OutgoingEmail.objects.filter(key=f"order:{order.code}:confirmation").count() == 1
    assert Client().get(f"/api/courses/{course.pk}").json()["seats_left"] == 2


def test_an_expired_event_after_completion_is_ignored(customer: Client, stripe_client: stripe.StripeClient) -> None:
    answer = book(customer, CourseFactory().pk)
    pay(stripe_client, answer["session_id"])
    (completed,) = [e for e in session_events(stripe_client, answer["session_id"]) if e["type"].endswith("completed")]
    stale = {**completed, "id": "evt_stale_expired", "type": "checkout.session.expired"}
    stale["data"] = {"object": {**completed["data"]["object"], "status": "expired"}}

    deliver(completed)
    run_inbox()
    deliver(stale)
    run_inbox()

    assert order_of(answer).status == OrderStatus.CONFIRMED
    assert WebhookEvent.objects.get(stripe_id="evt_stale_expired").status == "processed"


def test_a_delayed_payment_keeps_the_seat_while_processing_then_confirms(
    customer: Client, stripe_client: stripe.StripeClient
) -> None:
    course = CourseFactory(capacity=1)
    answer = book(customer, course.pk)
    # Settling takes 3 s: the `completed` event is applied (re-reading the session) well before, even on a busy
    # machine (at 0.5 s a loaded machine saw the debit settled by then, and the order went straight to confirmed).
    pay(stripe_client, answer["session_id"], "pm_sepa_debit", delayed_outcome="succeeded", delay_seconds=3)
    deliver_all(stripe_client, answer["session_id"])
    run_inbox()
    order = order_of(answer)
    assert order.status == OrderStatus.PROCESSING
    # Its hold time passes while the bank debit settles: the seat stays taken.
    Order.objects.filter(pk=order.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    other = Client()
    other.force_login(UserFactory())
    assert_problem(
        other.post("/api/stripe/checkout", {"course_id": course.pk}, content_type="application/json"),
        status=409,
        code="sold_out",
    )

    wait_for_event(stripe_client, answer["session_id"], "checkout.session.async_payment_succeeded")
    deliver_all(stripe_client, answer["session_id"])
    run_inbox()

    assert order_of(answer).status == OrderStatus.CONFIRMED
    assert Booking.objects.get(line__order=order).status == HoldStatus.CONFIRMED


def test_a_failed_delayed_payment_releases_the_seat_and_the_customer_may_retry(
    customer: Client, stripe_client: stripe.StripeClient
) -> None:
    course = CourseFactory(capacity=1)
    answer = book(customer, course.pk)
    pay(stripe_client, answer["session_id"], "pm_sepa_debit", delayed_outcome="failed", delay_seconds=0.2)
    wait_for_event(stripe_client, answer["session_id"], "checkout.session.async_payment_failed")
    deliver_all(stripe_client, answer["session_id"])
    run_inbox()

    order = order_of(answer)
    assert order.status == OrderStatus.FAILED
    assert Booking.objects.get(line__order=order).status == HoldStatus.RELEASED
    assert Client().get(f"/api/courses/{course.pk}").json()["seats_left"] == 1
    assert OutgoingEmail.objects.filter(order=order, key__contains="payment_failed").count() == 1

    retry = customer.post(f"/api/orders/{order.code}/retry-payment")
    assert retry.status_code == 201, retry.content
    assert Booking.objects.get(line__order=order).status == HoldStatus.HELD
    pay(stripe_client, retry.json()["session_id"])
    deliver_all(stripe_client, retry.json()["session_id"])
    run_inbox()
    assert order_of(answer).status == OrderStatus.CONFIRMED


def test_a_late_payment_is_confirmed_while_capacity_remains(
    customer: Client, stripe_client: stripe.StripeClient
) -> None:
    answer = book(customer, CourseFactory(capacity=2).pk)
    order_expire(order=order_of(answer), actor="system", reason="hold lapsed")  # the session itself stays open

    pay(stripe_client, answer["session_id"])
    deliver_all(stripe_client, answer["session_id"])
    run_inbox()

    order = order_of(answer)
    assert order.status == OrderStatus.CONFIRMED
    assert Booking.objects.get(line__order=order).status == HoldStatus.CONFIRMED


def test_a_late_payment_whose_seat_is_gone_is_refunded_and_the_customer_told(
    customer: Client, stripe_client: stripe.StripeClient
) -> None:
    course = CourseFactory(capacity=1)
    answer = book(customer, course.pk)
    order_expire(order=order_of(answer), actor="system", reason="hold lapsed")
    other = Client()
    other.force_login(UserFactory())
    assert (
        other.post("/api/stripe/checkout", {"course_id": course.pk}, content_type="application/json").status_code == 201
    )

    pay(stripe_client, answer["session_id"])
    deliver_all(stripe_client, answer["session_id"])
    run_inbox()

    order = order_of(answer)
    assert order.status == OrderStatus.REFUNDED
    assert order.amount_refunded == order.total_amount
    payment = Payment.objects.get(order=order)
    assert payment.status == Payment.Status.REFUNDED
    refund = Refund.objects.get(payment=payment)
    assert stripe_client.v1.refunds.retrieve(refund.stripe_refund_id).amount == order.total_amount
    assert OutgoingEmail.objects.filter(order=order, key__contains="late_refund").count() == 1
    assert Booking.objects.filter(course=course, status__in=["held", "confirmed"]).count() == 1


def test_an_order_paid_through_two_sessions_keeps_one_payment_and_refunds_the_other(
    customer: Client, stripe_client: stripe.StripeClient
) -> None:
    answer = book(customer, CourseFactory().pk)
    order = order_of(answer)
    # The first session's expiry got lost: both pages are open and the customer pays on both.
    Payment.objects.filter(order=order).update(status=Payment.Status.EXPIRED)
    second = checkout_start(order=order, actor="test")
    pay(stripe_client, answer["session_id"])
    pay(stripe_client, second.session_id or "")

    deliver_all(stripe_client, answer["session_id"])
    deliver_all(stripe_client, second.session_id or "")
    run_inbox()

    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    statuses = sorted(Payment.objects.filter(order=order).values_list("status", flat=True))
    assert statuses == ["paid", "refunded"]
    assert Refund.objects.filter(payment__order=order).count() == 1
    assert OutgoingEmail.objects.filter(order=order, key__startswith=f"order:{order.code}:confirmation").count() == 1


def test_a_payment_of_another_amount_puts_the_order_under_review(
    customer: Client, stripe_client: stripe.StripeClient
) -> None:
    answer = book(customer, CourseFactory().pk)
    Payment.objects.filter(session_id=answer["session_id"]).update(amount=1)  # what we expected differs
    pay(stripe_client, answer["session_id"])
    deliver_all(stripe_client, answer["session_id"])
    run_inbox()

    order = order_of(answer)
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert "expected 1" in order.review_reason
    assert Booking.objects.get(line__order=order).status == HoldStatus.HELD
    assert not OutgoingEmail.objects.filter(order=order).exists()


def paid_order(customer: Client, stripe_client: stripe.StripeClient) -> tuple[dict[str, Any], Order]:
    answer = book(customer, CourseFactory().pk)
    pay(stripe_client, answer["session_id"])
    deliver_all(stripe_client, answer["session_id"])
    run_inbox()
    return answer, order_of(answer)


def test_a_refund_made_at_stripe_refunds_the_order(customer: Client, stripe_client: stripe.StripeClient) -> None:
    answer, order = paid_order(customer, stripe_client)
    intent = Payment.objects.get(order=order).payment_intent_id
    stripe_client.v1.refunds.create(params={"payment_intent": intent, "amount": 1000})
    deliver_all(stripe_client, answer["session_id"])
    for event in intent_events(stripe_client, intent):
        deliver(event)
    run_inbox()
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert order.amount_refunded == 1000

    stripe_client.v1.refunds.create(params={"payment_intent": intent})
    for event in intent_events(stripe_client, intent):
        deliver(event)
    run_inbox()
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert Booking.objects.get(line__order=order).status == HoldStatus.CANCELLED


def test_a_dispute_flags_the_order_for_review(customer: Client, stripe_client: stripe.StripeClient) -> None:
    _, order = paid_order(customer, stripe_client)
    intent = stripe_client.v1.payment_intents.retrieve(Payment.objects.get(order=order).payment_intent_id)
    stripe_client.raw_request("post", f"/v1/test_helpers/charges/{intent.latest_charge}/dispute")
    for event in intent_events(stripe_client, intent.id):
        deliver(event)
    run_inbox()

    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert "dispute" in order.review_reason


def test_a_handler_failing_again_and_again_goes_dead_then_succeeds_on_replay(
    customer: Client, stripe_client: stripe.StripeClient, settings: Any
) -> None:
    from bookdesk.payments.webhooks import replay

    answer = book(customer, CourseFactory().pk)
    # A bank debit still settling: its `completed` event must be checked against Stripe when applied.
    pay(stripe_client, answer["session_id"], "pm_sepa_debit", delayed_outcome="succeeded", delay_seconds=600)
    deliver_all(stripe_client, answer["session_id"])
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    working_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe unreachable: the handler cannot read the session
    run_inbox()
    run_inbox()

    completed = WebhookEvent.objects.get(type="checkout.session.completed")
    assert (completed.status, completed.attempts) == ("dead", 2)
    assert "reached" in completed.last_error or "Error" in completed.last_error
    assert order_of(answer).status == OrderStatus.PENDING
    assert run_inbox() == 0  # dead events wait for an operator

    settings.STRIPE_API_BASE = working_base
    assert replay(completed.pk) == "processed"
    assert order_of(answer).status == OrderStatus.PROCESSING


def test_a_paid_or_expired_session_is_applied_from_the_signed_event_without_asking_stripe(
    customer: Client, stripe_client: stripe.StripeClient, settings: Any
) -> None:
    paid, lapsed = book(customer, CourseFactory().pk), book(customer, CourseFactory().pk)
    pay(stripe_client, paid["session_id"])
    stripe_client.v1.checkout.sessions.expire(lapsed["session_id"])
    events = session_events(stripe_client, paid["session_id"]) + session_events(stripe_client, lapsed["session_id"])
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # a paid or expired session cannot change: no need to ask

    for event in events:
        deliver(event)
    run_inbox()

    assert order_of(paid).status == OrderStatus.CONFIRMED
    assert order_of(lapsed).status == OrderStatus.EXPIRED
    assert not WebhookEvent.objects.exclude(status__in=["processed", "ignored"]).exists()


@pytest.mark.django_db(transaction=True)
def test_an_event_whose_worker_died_is_finished_by_the_next(
    customer: Client, stripe_client: stripe.StripeClient
) -> None:
    answer = book(customer, CourseFactory().pk)
    pay(stripe_client, answer["session_id"])
    deliver_all(stripe_client, answer["session_id"])
    claimed, die = threading.Event(), threading.Event()

    def dying_worker() -> None:
        # Claims the oldest due event as a worker does, then dies before finishing: its transaction
        # (and with it the claim) is rolled back.
        try:
            with transaction.atomic():
                completed = WebhookEvent.objects.filter(type="checkout.session.completed")
                assert webhooks._lock_first(completed) is not None
                claimed.set()
                die.wait(10)
                raise RuntimeError("killed")
        except RuntimeError:
            pass
        finally:
            connection.close()

    thread = threading.Thread(target=dying_worker)
    thread.start()
    assert claimed.wait(10)
    if connection.vendor == "postgresql":
        # Another worker meanwhile skips the locked event instead of waiting for it.
        started = time.monotonic()
        run_inbox()
        assert time.monotonic() - started < 2
        assert WebhookEvent.objects.get(type="checkout.session.completed").status == "received"
        assert order_of(answer).status == OrderStatus.PENDING
    die.set()
    thread.join(10)

    run_inbox()

    assert order_of(answer).status == OrderStatus.CONFIRMED
    assert WebhookEvent.objects.filter(status="received").count() == 0


def test_unknown_event_types_are_stored_and_ignored() -> None:
    event = {
        "id": "evt_unknown",
        "object": "event",
        "type": "customer.subscription.created",
        "created": int(time.time()),
        "data": {"object": {"id": "sub_1"}},
    }
    deliver(event)
    run_inbox()
    stored = WebhookEvent.objects.get()
    assert (stored.status, stored.outcome) == ("ignored", "no handler for this event type")
