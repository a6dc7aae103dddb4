"""The outbox: one email per key, delivered through a real SMTP server, retried with backoff, then dead."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.notifications.services import Attachment, backoff, email_queue, emails_send_due, notify_order_confirmed
from bookdesk.ops.metrics import REGISTRY
from bookdesk.orders.services import ItemRequest
from factories import CourseFactory, UserFactory

from . import icsparse
from .conftest import MailHandler, confirmed_order, free_port, studio_slot

pytestmark = pytest.mark.django_db

Status = OutgoingEmail.Status


def emails_metric(outcome: str) -> float:
    return REGISTRY.get_sample_value("bookdesk_emails_total", {"outcome": outcome}) or 0.0


def queue_refund_email(key: str = "test:one", **context: Any) -> OutgoingEmail:
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=CourseFactory().pk)])
    return email_queue(
        key=key,
        to="buyer@example.com",
        template="refund_issued",
        context={"order": order, "lines": [], "amount": 1000, "refund_id": "re_1", **context},
        order=order,
    )


def test_queueing_the_same_key_twice_keeps_one_row() -> None:
    first = queue_refund_email(refund_id="re_first")
    second = queue_refund_email(refund_id="re_second")

    assert second.pk == first.pk
    assert OutgoingEmail.objects.filter(key="test:one").count() == 1
    assert "re_first" in second.text_body
    assert "re_second" not in second.text_body


def test_queued_email_is_rendered_once_with_a_one_line_subject() -> None:
    queued = queue_refund_email()

    assert queued.status == Status.PENDING
    assert queued.attempts == 0
    assert "\n" not in queued.subject
    assert "€10.00" in queued.subject
    assert "re_1" in queued.text_body
    assert "{%" not in queued.text_body
    assert "{{" not in queued.text_body
    assert queued.html_body.lstrip().startswith("<!DOCTYPE html>")


def test_confirmation_arrives_over_smtp_with_text_html_and_calendar(mailbox: MailHandler) -> None:
    course = CourseFactory(title="Mixing basics", location="Studio A")
    service, slot = studio_slot(hour=11)
    user = UserFactory(email="ada@example.com")
    order = confirmed_order(
        user=user,
        items=[
            ItemRequest(kind="course", course_id=course.pk),
            ItemRequest(kind="service", service_id=service.pk, starts_at=slot),
        ],
    )
    notify_order_confirmed(order)

    assert emails_send_due() == 1

    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "ada@example.com"
    assert order.code in message["Subject"]
    parts = {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html", "text/calendar"}
    text = parts["text/plain"].get_payload(decode=True).decode()
    assert "Mixing basics" in text
    assert "€99.00" in text
    assert order.code in text
    assert "Mixing basics" in parts["text/html"].get_payload(decode=True).decode()

    calendar_part = parts["text/calendar"]
    assert calendar_part.get_param("method") == "PUBLISH"
    assert calendar_part.get_filename() == f"{order.code}.ics"
    data = calendar_part.get_payload(decode=True)
    icsparse.physical_lines(data)  # CRLF everywhere
    events = icsparse.events(data)
    assert len(events) == 2
    by_summary = {icsparse.unescape(event["SUMMARY"]): event for event in events}
    course_event = by_summary["Mixing basics"]
    assert course_event["DTSTART"] == course.starts_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert course_event["DTEND"] == course.ends_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    studio_event = next(event for event in events if event is not course_event)
    assert studio_event["DTSTART"] == slot.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")

    sent = OutgoingEmail.objects.get(key=f"order:{order.code}:confirmation")
    assert sent.status == Status.SENT
    assert sent.sent_at is not None
    assert sent.attempts == 1
    # A sent email is never sent again, whatever time it is.
    assert emails_send_due(now=timezone.now() + dt.timedelta(days=30)) == 0
    assert len(mailbox.messages) == 1


def test_times_in_the_email_are_the_business_time_zone(settings: Any) -> None:
    settings.BOOKDESK_TIME_ZONE = "America/New_York"
    starts_at = dt.datetime(2031, 1, 15, 14, 30, tzinfo=dt.UTC)  # 09:30 in New York (EST)
    course = CourseFactory(starts_at=starts_at, ends_at=starts_at + dt.timedelta(hours=2))
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=course.pk)])

    queued = notify_order_confirmed(order)

    assert "Wednesday 15 January 2031, 09:30–11:30 EST" in queued.text_body
    assert "Wednesday 15 January 2031, 09:30" in queued.html_body


def test_refused_sends_are_retried_with_backoff_and_delivered_once(mailbox: MailHandler) -> None:
    mailbox.refuse = 2
    queued = queue_refund_email()
    start = timezone.now()

    assert emails_send_due(now=start) == 0
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == (Status.FAILED, 1)
    assert "451" in queued.last_error
    assert queued.next_attempt_at == start + backoff(1) == start + dt.timedelta(seconds=30)

    # Not due yet: nothing is tried.
    assert emails_send_due(now=start + dt.timedelta(seconds=29)) == 0
    assert mailbox.data_commands == 1

    second_try = start + dt.timedelta(seconds=30)
    assert emails_send_due(now=second_try) == 0
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == (Status.FAILED, 2)
    assert queued.next_attempt_at == second_try + dt.timedelta(seconds=60)

    assert emails_send_due(now=second_try + dt.timedelta(seconds=60)) == 1
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.last_error) == (Status.SENT, 3, "")
    assert mailbox.data_commands == 3
    assert len(mailbox.messages) == 1

    assert emails_send_due(now=second_try + dt.timedelta(days=1)) == 0
    assert len(mailbox.messages) == 1


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 5)] == [30, 60, 120, 240]
    assert backoff(30) == dt.timedelta(hours=1)


def test_email_is_dead_after_the_maximum_attempts(mailbox: MailHandler, settings: Any) -> None:
    settings.EMAIL_MAX_ATTEMPTS = 3
    mailbox.refuse = 100
    queued = queue_refund_email()
    failed_before, dead_before = emails_metric("failed"), emails_metric("dead")
    moment = timezone.now()

    for _ in range(3):
        assert emails_send_due(now=moment) == 0
        moment += dt.timedelta(hours=2)

    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == (Status.DEAD, 3)
    assert "451" in queued.last_error
    assert emails_metric("failed") - failed_before == 2
    assert emails_metric("dead") - dead_before == 1

    assert emails_send_due(now=moment + dt.timedelta(days=7)) == 0
    assert mailbox.data_commands == 3
    assert mailbox.messages == []


def test_an_unreachable_server_is_recorded_and_retried(mailbox: MailHandler, settings: Any) -> None:
    settings.EMAIL_PORT = free_port()  # nothing listens there
    queued = queue_refund_email()

    assert emails_send_due() == 0

    queued.refresh_from_db()
    assert queued.status == Status.FAILED
    assert "ConnectionRefusedError" in queued.last_error
    assert queued.next_attempt_at > timezone.now()


def test_sent_emails_are_counted(mailbox: MailHandler) -> None:
    before = emails_metric("sent")
    queue_refund_email(key="a")
    queue_refund_email(key="b")

    assert emails_send_due() == 2

    assert emails_metric("sent") - before == 2


def test_a_round_sends_over_one_connection_and_a_fresh_one_after_a_refusal(mailbox: MailHandler) -> None:
    for key in ("a", "b", "c"):
        queue_refund_email(key=key)

    assert emails_send_due() == 3
    assert len(mailbox.peers) == 1

    mailbox.refuse = mailbox.data_commands + 1  # the next DATA is refused
    for key in ("d", "e"):
        queue_refund_email(key=key)

    assert emails_send_due() == 1
    assert len(mailbox.peers) == 3
    assert OutgoingEmail.objects.filter(status=Status.FAILED).count() == 1


def test_limit_bounds_one_sweep(mailbox: MailHandler) -> None:
    for key in ("a", "b", "c"):
        queue_refund_email(key=key)

    assert emails_send_due(limit=2) == 2
    assert emails_send_due(limit=2) == 1
    assert len(mailbox.messages) == 3


def test_binary_attachments_survive_the_trip(mailbox: MailHandler) -> None:
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=CourseFactory().pk)])
    payload = bytes(range(256)) * 4
    email_queue(
        key="attachment",
        to="buyer@example.com",
        template="refund_issued",
        context={"order": order, "lines": [], "amount": 100, "refund_id": "re_x"},
        attachments=[Attachment("receipt.pdf", payload, "application/pdf")],
        order=order,
    )

    emails_send_due()

    (part,) = [part for part in mailbox.messages[0].walk() if part.get_filename()]
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == payload
