"""Reconciliation repairs what missed webhooks left behind; `bookdesk webhooks` lists and replays."""

from __future__ import annotations

import time
from io import StringIO
from typing import Any

import pytest
import stripe
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from bookdesk.orders.models import Order, OrderStatus
from bookdesk.payments.models import WebhookEvent
from factories import CourseFactory, UserFactory

from .conftest import book, deliver, pay, run_inbox, session_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


def paid_without_webhooks(stripe_client: stripe.StripeClient) -> Order:
    client = Client()
    client.force_login(UserFactory())
    answer = book(client, CourseFactory().pk)
    pay(stripe_client, answer["session_id"])  # Stripe knows; no webhook ever reaches us
    return Order.objects.get(code=answer["order"]["code"])


def test_reconcile_confirms_an_order_whose_webhook_never_came(stripe_client: stripe.StripeClient) -> None:
    order = paid_without_webhooks(stripe_client)
    out = StringIO()

    call_command("reconcile", "--since", "1h", stdout=out)

    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    report = out.getvalue()
    assert "fixed" in report
    assert "checkout.session.completed" in report
    assert WebhookEvent.objects.filter(type="checkout.session.completed").count() >= 1

    again = StringIO()
    call_command("reconcile", "--since", "1h", stdout=again)
    assert ", 0 fixed" in again.getvalue()
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


def test_reconcile_rejects_a_window_it_cannot_read() -> None:
    with pytest.raises(CommandError, match="--since"):
        call_command("reconcile", "--since", "yesterday")


def dead_event(stripe_client: stripe.StripeClient, settings: Any) -> tuple[Order, WebhookEvent]:
    """An order paid by a bank debit whose `completed` event went dead: Stripe was unreachable to re-read it."""
    client = Client()
    client.force_login(UserFactory())
    answer = book(client, CourseFactory().pk)
    session_id = answer["session_id"]
    pay(stripe_client, session_id, "pm_sepa_debit", delayed_outcome="succeeded", delay_seconds=0.2)
    for event in session_events(stripe_client, session_id):
        deliver(event)
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    working = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    run_inbox()
    settings.STRIPE_API_BASE = working
    deadline = time.monotonic() + 10  # the debit settles meanwhile: a replay finds the session paid
    while stripe_client.v1.checkout.sessions.retrieve(session_id).payment_status != "paid":
        assert time.monotonic() < deadline, "the delayed payment never settled"
        time.sleep(0.05)
    order = Order.objects.get(code=answer["order"]["code"])
    return order, WebhookEvent.objects.get(type="checkout.session.completed", status="dead")


def test_webhooks_list_and_replay_dead(stripe_client: stripe.StripeClient, settings: Any) -> None:
    order, dead = dead_event(stripe_client, settings)
    out = StringIO()
    call_command("webhooks", "list", "--status", "dead", stdout=out)
    assert dead.stripe_id in out.getvalue()
    assert "last error" in out.getvalue()

    out = StringIO()
    call_command("webhooks", "replay", "--dead", stdout=out)

    assert "processed" in out.getvalue()
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    with pytest.raises(CommandError, match="No webhook event"):
        call_command("webhooks", "replay", "evt_nothing")


def test_dead_events_are_listed_and_replayed_in_the_admin(
    stripe_client: stripe.StripeClient, settings: Any, admin_client: Any
) -> None:
    order, dead = dead_event(stripe_client, settings)
    changelist = reverse("admin:payments_webhookevent_changelist")
    page = admin_client.get(changelist, {"status__exact": "dead"}).content.decode()
    assert dead.stripe_id in page

    admin_client.post(changelist, {"action": "replay_events", "_selected_action": [dead.pk]})

    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert WebhookEvent.objects.get(pk=dead.pk).status == "processed"
