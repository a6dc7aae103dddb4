"""Invoice numbers have no gaps and no repeats per year, however many workers confirm payments at once."""

from __future__ import annotations

import threading

import pytest
import stripe
from django.db import connection, transaction

from bookdesk.orders.services import ItemRequest, order_place
from bookdesk.payments import documents
from bookdesk.payments.checkout import checkout_start
from bookdesk.payments.fulfilment import Outcome, fulfil_checkout
from bookdesk.payments.models import DocumentCounter, DocumentKind, Invoice
from factories import CourseFactory, UserFactory
from parallel import at_once

from .conftest import pay

pytestmark = pytest.mark.usefixtures("stripe_sandbox")

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite takes one writer at a time (every transaction is IMMEDIATE): nothing runs concurrently to race",
)

PAYERS = 8


def paid_sessions(stripe_client: stripe.StripeClient, count: int) -> list[str]:
    """Orders placed through the real services and paid in the sandbox; their webhooks not applied yet."""
    sessions = []
    for _ in range(count):
        order = order_place(user=UserFactory(), items=[ItemRequest(kind="course", course_id=CourseFactory().pk)])
        session_id = checkout_start(order=order, actor="test").session_id or ""
        pay(stripe_client, session_id)
        sessions.append(session_id)
    return sessions


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_get_consecutive_invoice_numbers(stripe_client: stripe.StripeClient) -> None:
    sessions = iter(paid_sessions(stripe_client, PAYERS))
    lock = threading.Lock()

    def confirm_one() -> Outcome:
        with lock:
            session_id = next(sessions)
        return fulfil_checkout(session_id, actor="worker")  # its own transaction, like one worker each

    outcomes = at_once(PAYERS, confirm_one)

    assert outcomes == [Outcome.CONFIRMED] * PAYERS
    invoices = list(Invoice.objects.order_by("sequence"))
    year = invoices[0].year
    assert [invoice.sequence for invoice in invoices] == list(range(1, PAYERS + 1))
    assert len({invoice.number for invoice in invoices}) == PAYERS
    assert [invoice.number for invoice in invoices] == [f"INV-{year}-{n:06d}" for n in range(1, PAYERS + 1)]
    assert DocumentCounter.objects.get(kind=DocumentKind.INVOICE, year=year).last_number == PAYERS


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_without_the_lock_concurrent_takers_repeat_a_number() -> None:
    """The race the counter's row lock prevents: read the last number without a lock, then write it back."""
    DocumentCounter.objects.create(kind=DocumentKind.INVOICE, year=2026)
    read_all = threading.Barrier(4)

    def take_unguarded() -> int:
        with transaction.atomic():
            counter = DocumentCounter.objects.get(kind=DocumentKind.INVOICE, year=2026)
            read_all.wait(timeout=10)  # every taker has read before any writes
            counter.last_number += 1
            counter.save(update_fields=["last_number"])
            return counter.last_number

    def take_guarded() -> int:
        with transaction.atomic():
            (number,) = documents.numbers_take(kind=DocumentKind.INVOICE, year=2027)
            return number

    assert at_once(4, take_unguarded) == [1, 1, 1, 1]
    assert sorted(at_once(4, take_guarded)) == [1, 2, 3, 4]


@pytest.mark.django_db
def test_a_rolled_back_invoice_gives_its_number_back() -> None:
    with transaction.atomic():
        assert documents.numbers_take(kind=DocumentKind.INVOICE, year=2026) == [1]
    taken: list[int] = []

    def confirm_then_fail() -> None:
        with transaction.atomic():
            taken.extend(documents.numbers_take(kind=DocumentKind.INVOICE, year=2026, count=2))
            raise RuntimeError("the confirmation failed")

    with pytest.raises(RuntimeError, match="confirmation failed"):
        confirm_then_fail()
    assert taken == [2, 3]
    with transaction.atomic():
        assert documents.numbers_take(kind=DocumentKind.INVOICE, year=2026) == [2]
        assert documents.numbers_take(kind=DocumentKind.CREDIT_NOTE, year=2026) == [1]  # counted apart
        assert documents.numbers_take(kind=DocumentKind.INVOICE, year=2027) == [1]  # a new year starts at 1


@pytest.mark.django_db(transaction=True)
def test_numbers_are_taken_only_inside_the_documents_transaction() -> None:
    with pytest.raises(RuntimeError, match="in the transaction"):
        documents.numbers_take(kind=DocumentKind.INVOICE, year=2026)
