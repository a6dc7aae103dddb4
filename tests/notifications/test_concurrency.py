"""Two senders at once send every email exactly once (SQLite and PostgreSQL, real threads, real SMTP).

First the race is shown to exist: two senders that merely read what is due both see every email, so
without the claim (a row lock, and the lease it writes) each would send all of them.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.utils import timezone

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.notifications.services import email_queue, emails_send_due
from bookdesk.orders.services import ItemRequest
from factories import CourseFactory, UserFactory
from parallel import at_once

from .conftest import MailHandler, confirmed_order

pytestmark = pytest.mark.django_db(transaction=True)

EMAILS = 12


def queue_emails(count: int) -> None:
    order = confirmed_order(user=UserFactory(), items=[ItemRequest(kind="course", course_id=CourseFactory().pk)])
    for n in range(count):
        email_queue(
            key=f"test:{n}",
            to=f"buyer{n}@example.com",
            template="refund_issued",
            context={"order": order, "lines": [], "amount": 100 + n, "refund_id": f"re_{n}"},
            order=order,
        )


def test_without_the_claim_two_senders_see_the_same_emails() -> None:
    queue_emails(EMAILS)

    def due_keys() -> set[str]:
        now = timezone.now()
        return set(
            OutgoingEmail.objects.filter(status="pending", next_attempt_at__lte=now).values_list("key", flat=True)
        )

    first, second = at_once(2, due_keys)

    assert len(first) == len(second) == EMAILS
    assert first == second


@pytest.mark.parametrize("senders", [2, 4])
def test_concurrent_senders_send_each_email_once(mailbox: MailHandler, senders: int) -> None:
    queue_emails(EMAILS)
    mailbox.delay = 0.02  # a slow server keeps the senders overlapping

    counts = at_once(senders, lambda: emails_send_due(limit=100))

    assert sum(counts) == EMAILS
    received = Counter(message["To"] for message in mailbox.messages)
    assert len(received) == EMAILS
    assert set(received.values()) == {1}
    assert mailbox.data_commands == EMAILS
    rows = OutgoingEmail.objects.all()
    assert {(row.status, row.attempts) for row in rows} == {("sent", 1)}
