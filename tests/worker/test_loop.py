"""`bookdesk worker`: the loop over the webhook inbox and the email outbox, and `--once`."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import stripe
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from bookdesk.orders.models import Order, OrderStatus
from bookdesk.payments.models import WebhookEvent
from bookdesk.worker.loop import run
from factories import CourseFactory, UserFactory
from payments.conftest import SECRET, book, deliver, pay, session_events

# The worker closes stale connections as it polls, as a long-running process must: no test transaction here.
pytestmark = pytest.mark.django_db(transaction=True)


def test_worker_once_expires_lapsed_holds(stripe_sandbox: Any) -> None:
    client = Client()
    client.force_login(UserFactory())
    code = client.post(
        "/api/stripe/checkout", {"course_id": CourseFactory().pk}, content_type="application/json"
    ).json()["order"]["code"]
    Order.objects.update(hold_expires_at=timezone.now() - timedelta(minutes=1))

    out = StringIO()
    call_command("worker", "--once", stdout=out)

    assert "1 holds expired" in out.getvalue()
    assert Order.objects.get(code=code).status == OrderStatus.EXPIRED


@pytest.fixture
def signed_webhooks_and_local_mail(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def book_now(email: str) -> dict[str, Any]:
    client = Client()
    client.force_login(UserFactory(email=email))
    return book(client, CourseFactory().pk)


def pay_and_deliver(stripe_client: stripe.StripeClient, session_id: str) -> None:
    """Pay the session in the sandbox and deliver its events to our intake, as Stripe would."""
    pay(stripe_client, session_id)
    for event in session_events(stripe_client, session_id):
        assert deliver(event).status_code == 200


@pytest.mark.usefixtures("stripe_sandbox", "signed_webhooks_and_local_mail")
def test_the_worker_applies_events_and_sends_emails_as_they_arrive(stripe_client: stripe.StripeClient) -> None:
    answer = book_now("loop@example.com")
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(stop,), kwargs={"interval": 0.05, "sweep_interval": 60, "threads": 2})
    worker.start()
    try:
        pay_and_deliver(stripe_client, answer["session_id"])
        deadline = time.monotonic() + 15
        # Until the email is sent and every delivered event applied (the last one may land after the email).
        while time.monotonic() < deadline and (
            not mail.outbox or WebhookEvent.objects.filter(status="received").exists()
        ):
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(10)

    assert not worker.is_alive()
    assert Order.objects.get(code=answer["order"]["code"]).status == OrderStatus.CONFIRMED
    assert set(WebhookEvent.objects.values_list("status", flat=True)) <= {"processed", "ignored"}
    assert [message.to for message in mail.outbox] == [["loop@example.com"]]


@pytest.mark.usefixtures("stripe_sandbox", "signed_webhooks_and_local_mail")
def test_worker_once_applies_what_is_due_and_sends_the_emails(stripe_client: stripe.StripeClient) -> None:
    answer = book_now("once@example.com")
    pay_and_deliver(stripe_client, answer["session_id"])

    out = StringIO()
    call_command("worker", "--once", stdout=out)

    assert "1 emails sent" in out.getvalue()
    assert Order.objects.get(code=answer["order"]["code"]).status == OrderStatus.CONFIRMED
    assert not WebhookEvent.objects.filter(status="received").exists()
    assert [message.to for message in mail.outbox] == [["once@example.com"]]
