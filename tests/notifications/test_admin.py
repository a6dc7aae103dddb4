"""Operators see the outbox and can send a failed or dead email again; a sent one stays sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.notifications.services import emails_send_due, notify_order_confirmed
from bookdesk.orders.services import ItemRequest
from factories import CourseFactory, StaffUserFactory, UserFactory

from .conftest import MailHandler, confirmed_order

pytestmark = pytest.mark.django_db

Status = OutgoingEmail.Status


@pytest.fixture
def email() -> OutgoingEmail:
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=CourseFactory().pk)])
    return notify_order_confirmed(order)


def staff_client() -> Client:
    client = Client()
    client.force_login(StaffUserFactory())
    return client


def test_the_outbox_lists_and_shows_emails(email: OutgoingEmail) -> None:
    client = staff_client()

    listing = client.get("/admin/notifications/outgoingemail/")
    detail = client.get(f"/admin/notifications/outgoingemail/{email.pk}/change/")

    assert listing.status_code == 200
    assert email.to.encode() in listing.content
    assert detail.status_code == 200


def test_send_again_revives_a_dead_email_but_not_a_sent_one(email: OutgoingEmail, mailbox: MailHandler) -> None:
    OutgoingEmail.objects.filter(pk=email.pk).update(status=Status.DEAD, attempts=8, last_error="451")
    sent = OutgoingEmail.objects.create(
        key="already-sent", to="x@example.com", subject="s", text_body="t", status=Status.SENT, sent_at=timezone.now()
    )

    response = staff_client().post(
        "/admin/notifications/outgoingemail/",
        {"action": "send_again", "_selected_action": [email.pk, sent.pk]},
    )

    assert response.status_code == 302
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (Status.PENDING, 0, "")
    assert emails_send_due() == 1
    assert len(mailbox.messages) == 1
    sent.refresh_from_db()
    assert sent.status == Status.SENT


def test_an_email_whose_last_attempt_never_finished_is_dead(email: OutgoingEmail, settings: Any) -> None:
    # What a sender that died mid-send on the last allowed attempt leaves behind, once its lease lapsed.
    settings.EMAIL_MAX_ATTEMPTS = 3
    OutgoingEmail.objects.filter(pk=email.pk).update(
        attempts=3, next_attempt_at=timezone.now() - dt.timedelta(minutes=1)
    )

    assert emails_send_due() == 0

    email.refresh_from_db()
    assert email.status == Status.DEAD
    assert "never finished" in email.last_error
