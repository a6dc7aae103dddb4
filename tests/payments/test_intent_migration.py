"""Upgrading to unique payment-intent ids copes with the data an older release left: empty ids become NULL,
and where two payments share an intent the first keeps it and the later one loses it, noted on its order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from bookdesk.orders.models import AuditEntry
from bookdesk.orders.services import ItemRequest
from bookdesk.payments.models import Payment
from factories import CourseFactory, UserFactory, place

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("payments", "0004_reconcile_runs")]


def migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def test_upgrading_keeps_the_first_of_shared_intents_and_notes_the_rest() -> None:
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("payments")
    migrate(BEFORE)
    try:
        # Payments as the older release stored them: its model, not today's (later migrations add columns).
        old_payment = MigrationExecutor(connection).loader.project_state(BEFORE).apps.get_model("payments", "Payment")
        orders = [place(UserFactory(), ItemRequest(kind="course", course_id=CourseFactory().pk)) for _ in range(4)]
        expires = timezone.now() + timedelta(minutes=30)
        intents = ["pi_shared", "", "pi_shared", "pi_own"]
        payments = [
            old_payment.objects.create(
                order_id=order.pk, attempt=1, amount=1, currency="eur", expires_at=expires, payment_intent_id=intent
            )
            for order, intent in zip(orders, intents, strict=True)
        ]
    finally:
        migrate(latest)

    after = {p.pk: p.payment_intent_id for p in Payment.objects.all()}
    assert [after[p.pk] for p in payments] == ["pi_shared", None, None, "pi_own"]
    note = AuditEntry.objects.get(action="payment.intent_cleared")
    assert note.order_id == orders[2].pk
    assert note.data["payment_intent"] == "pi_shared"
    assert note.data["kept_by_payment"] == payments[0].pk
