"""bookdesk.db.raw: the hand-built CASE update writes exactly what the ORM's bulk_update writes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Model
from django.utils import timezone

from bookdesk.db import raw
from bookdesk.orders.models import Order
from bookdesk.payments.models import Payment
from factories import UserFactory

FIELDS = ["status", "payment_intent_id", "amount_received", "updated_at"]


def columns(obj: Model) -> dict[str, Any]:
    fresh = type(obj)._default_manager.get(pk=obj.pk)
    return {field.attname: getattr(fresh, field.attname) for field in fresh._meta.concrete_fields}


def payments(n: int) -> list[Payment]:
    """Attempt 1 of n orders (an order has one payment in the works at a time)."""
    user = UserFactory()
    hold = timezone.now() + timedelta(minutes=31)
    found = []
    for _ in range(n):
        order = Order.objects.create(
            user=user, email=user.email, kind="course_booking", currency="eur", subtotal_amount=4500,
            total_amount=4500, hold_expires_at=hold,
        )  # fmt: skip
        found.append(Payment.objects.create(order=order, attempt=1, amount=4500, currency="eur", expires_at=hold))
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 3])
def test_bulk_update_writes_what_the_orm_writes(count: int) -> None:
    ours, theirs = payments(count), payments(count)
    now = timezone.now()
    for index, (mine, orm) in enumerate(zip(ours, theirs, strict=True)):
        for side, payment in (("a", mine), ("b", orm)):
            payment.status = Payment.Status.PAID
            payment.payment_intent_id = f"pi_{side}{index}_ä'\""  # unique per payment
            payment.amount_received = 4500 + index
            payment.updated_at = now + timedelta(seconds=index)
    assert raw.bulk_update(ours, FIELDS) == count
    Payment.objects.bulk_update(theirs, FIELDS)
    for index, (mine, orm) in enumerate(zip(ours, theirs, strict=True)):
        mine_row, orm_row = columns(mine), columns(orm)
        for name in ("id", "order_id", "created_at", "expires_at"):
            mine_row.pop(name), orm_row.pop(name)
        assert (mine_row.pop("payment_intent_id"), orm_row.pop("payment_intent_id")) == (
            f"pi_a{index}_ä'\"",
            f"pi_b{index}_ä'\"",
        )
        assert mine_row == orm_row
        assert mine_row["status"] == Payment.Status.PAID


@pytest.mark.django_db
def test_bulk_update_leaves_other_rows_alone() -> None:
    changed, untouched = payments(2)
    changed.status = Payment.Status.PAID
    raw.bulk_update([changed], ["status"])
    assert columns(untouched)["status"] == Payment.Status.CREATING
    assert raw.bulk_update([], ["status"]) == 0
