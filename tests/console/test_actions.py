"""Each attention action end to end, through the real services and the sandbox over HTTP: a dead event replayed
from the payload the sandbox delivered, a dead email sent again over SMTP, a disputed order refunded through
Stripe or resolved with a note; and each refused, changing nothing, once someone else handled it."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from django.test import Client

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.notifications.services import emails_send_due
from bookdesk.orders.models import AuditEntry, Booking, HoldStatus, Order, OrderStatus
from bookdesk.payments.models import Payment, Refund, WebhookEvent
from factories import CourseFactory, UserFactory, signed_in
from payments.conftest import SECRET, book, deliver, intent_events, pay, run_inbox, session_events
from smtp_listener import MailHandler

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


@pytest.fixture(autouse=True)
def webhook_secret(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def _post(client: Client, url: str, data: dict[str, str] | None = None) -> list[str]:
    """POST an action and follow it back to the attention page: the messages it shows."""
    response = client.post(url, data or {}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/console/")
    return [str(m) for m in response.context["messages"]]


def _paid_session(stripe_client: stripe.StripeClient) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A seat booked and paid at the sandbox; its events as the sandbox sends them (not delivered yet)."""
    answer = book(signed_in(UserFactory(email="ada@example.com")), CourseFactory(title="Mixing basics").pk)
    pay(stripe_client, answer["session_id"])
    return answer, session_events(stripe_client, answer["session_id"])


def _confirmed_and_disputed(stripe_client: stripe.StripeClient) -> Order:
    answer, events = _paid_session(stripe_client)
    for event in events:
        assert deliver(event).status_code == 200
    run_inbox()
    order = Order.objects.get(code=answer["order"]["code"])
    intent = stripe_client.v1.payment_intents.retrieve(Payment.objects.get(order=order).payment_intent_id)
    stripe_client.raw_request("post", f"/v1/test_helpers/charges/{intent.latest_charge}/dispute")
    for event in intent_events(stripe_client, intent.id):
        deliver(event)
    run_inbox()
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    return order


def test_replaying_a_dead_event_applies_the_sandbox_s_payload_once(
    operator: Client, stripe_client: stripe.StripeClient
) -> None:
    answer, events = _paid_session(stripe_client)
    completed = next(e for e in events if e["type"] == "checkout.session.completed")
    assert deliver(completed).status_code == 200
    # It died earlier (say the database was away for every attempt): dead, nothing applied.
    WebhookEvent.objects.filter(stripe_id=completed["id"]).update(
        status=WebhookEvent.Status.DEAD, attempts=8, last_error="OperationalError: database is away"
    )
    order = Order.objects.get(code=answer["order"]["code"])
    assert order.status == OrderStatus.PENDING
    page = operator.get("/console/attention")
    assert completed["id"] in page.content.decode()
    event = WebhookEvent.objects.get(stripe_id=completed["id"])

    assert _post(operator, f"/console/attention/events/{event.pk}/replay") == ["Event replayed: processed."]
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert Booking.objects.get(line__order=order).status == HoldStatus.CONFIRMED
    replayed = AuditEntry.objects.get(action="webhook.replayed")
    assert replayed.actor.startswith("staff:")
    assert replayed.data["stripe_id"] == completed["id"]

    # A second operator's click on the stale page: a clear message, nothing applied twice.
    (again,) = _post(operator, f"/console/attention/events/{event.pk}/replay")
    assert "no longer dead (it is processed); nothing was replayed" in again
    assert AuditEntry.objects.filter(action="webhook.replayed").count() == 1
    assert AuditEntry.objects.filter(order=order, action="order.confirmed").count() == 1
    assert completed["id"] not in operator.get("/console/attention").content.decode()


def test_sending_a_dead_email_again_delivers_it_over_smtp(
    operator: Client, stripe_client: stripe.StripeClient, mailbox: MailHandler
) -> None:
    answer, events = _paid_session(stripe_client)
    for event in events:
        deliver(event)
    run_inbox()
    email = OutgoingEmail.objects.get(key=f"order:{answer['order']['code']}:confirmation")
    OutgoingEmail.objects.filter(pk=email.pk).update(
        status=OutgoingEmail.Status.DEAD, attempts=8, last_error="SMTPServerDisconnected: gone"
    )
    assert "SMTPServerDisconnected" in operator.get("/console/attention").content.decode()

    done = _post(operator, f"/console/attention/emails/{email.pk}/retry")
    assert done == ["The email to ada@example.com will be sent again in a moment."]
    assert emails_send_due() == 1
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert any("ada@example.com" in message["To"] for message in mailbox.messages)
    assert AuditEntry.objects.get(action="email.retried").actor.startswith("staff:")

    (again,) = _post(operator, f"/console/attention/emails/{email.pk}/retry")
    assert "is sent, not failed; nothing was changed" in again
    assert AuditEntry.objects.filter(action="email.retried").count() == 1


def test_a_disputed_order_offers_no_refund_and_stripe_refuses_one(
    operator: Client, stripe_client: stripe.StripeClient
) -> None:
    order = _confirmed_and_disputed(stripe_client)
    page = operator.get("/console/attention").content.decode()
    assert order.code in page
    assert f"/console/attention/orders/{order.pk}/refund" not in page  # the money went back with the chargeback
    (refused,) = _post(operator, f"/console/attention/orders/{order.pk}/refund")
    assert "refused this refund" in refused
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert not Refund.objects.filter(payment__order=order).exists()


def test_refunding_an_order_under_review_goes_through_stripe_once(
    operator: Client, stripe_client: stripe.StripeClient
) -> None:
    answer, events = _paid_session(stripe_client)
    for event in events:
        deliver(event)
    run_inbox()
    order = Order.objects.get(code=answer["order"]["code"])
    # As fulfilment leaves an order whose money does not match (the amount check is tests/payments' to prove).
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.NEEDS_REVIEW, review_reason="paid 9900 eur, expected 9800 eur"
    )
    page = operator.get("/console/attention").content.decode()
    assert "Amount mismatch" in page

    done = _post(operator, f"/console/attention/orders/{order.pk}/refund")
    assert done == [f"{order.code}: €99.00 refunded through Stripe."]
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    refund = Refund.objects.get(payment__order=order)
    assert stripe_client.v1.refunds.retrieve(refund.stripe_refund_id).amount == 9900
    assert AuditEntry.objects.get(order=order, action="refund.created").actor.startswith("staff:")

    (again,) = _post(operator, f"/console/attention/orders/{order.pk}/refund")
    assert "cannot be refunded" in again
    assert Refund.objects.filter(payment__order=order).count() == 1


def test_resolving_a_review_with_a_note_confirms_the_order_once(
    operator: Client, stripe_client: stripe.StripeClient
) -> None:
    order = _confirmed_and_disputed(stripe_client)
    (empty,) = _post(operator, f"/console/attention/orders/{order.pk}/resolve", {"note": "  "})
    assert "Write a note" in empty
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW

    note = {"note": "Customer withdrew the dispute by phone."}
    assert _post(operator, f"/console/attention/orders/{order.pk}/resolve", note) == [
        f"{order.code}: review resolved, now confirmed."
    ]
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert order.review_reason == ""
    entry = AuditEntry.objects.get(order=order, action="order.review_resolved")
    assert entry.data["note"] == "Customer withdrew the dispute by phone."
    assert entry.data["reason"].startswith("dispute")
    assert entry.actor.startswith("staff:")

    (again,) = _post(operator, f"/console/attention/orders/{order.pk}/resolve", {"note": "me too"})
    assert "no longer under review" in again
    assert AuditEntry.objects.filter(order=order, action="order.review_resolved").count() == 1
    assert Refund.objects.filter(payment__order=order).count() == 0
