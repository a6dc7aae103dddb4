"""bookdesk.db.raw: the hand-built CASE update writes exactly what the ORM's bulk_update writes; planner settings
hold for their block or transaction only, and the connection is left as it was found."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
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


def show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return str(cursor.fetchone()[0])


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="planner settings are PostgreSQL's: on SQLite there is nothing to set"
)


@postgresql_only
@pytest.mark.django_db
def test_session_settings_hold_for_the_block_and_put_back_what_was_there() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET random_page_cost = 2.5")  # not the server's default: put back, not reset
    before_jit = show("jit")
    with raw.session_settings(random_page_cost="1.1", jit="off"):
        assert (show("random_page_cost"), show("jit")) == ("1.1", "off")
    assert (show("random_page_cost"), show("jit")) == ("2.5", before_jit)
    with pytest.raises(RuntimeError), raw.session_settings(random_page_cost="1.1"):
        raise RuntimeError("the block failed")
    assert show("random_page_cost") == "2.5"


@postgresql_only
@pytest.mark.django_db(transaction=True)  # a real transaction, to see the settings end with it
def test_local_settings_end_with_their_transaction() -> None:
    before = show("plan_cache_mode"), show("max_parallel_workers_per_gather")
    with transaction.atomic():
        raw.local_settings(plan_cache_mode="force_custom_plan", max_parallel_workers_per_gather="0")
        assert (show("plan_cache_mode"), show("max_parallel_workers_per_gather")) == ("force_custom_plan", "0")
    assert (show("plan_cache_mode"), show("max_parallel_workers_per_gather")) == before != ("force_custom_plan", "0")


@pytest.mark.django_db
def test_settings_are_nothing_but_postgresql_s(django_assert_num_queries: Any) -> None:
    """On SQLite both are no-ops (no statement run), so callers need not ask which database they are on; on
    PostgreSQL a block's settings are a statement to read them, one to set them and one to put them back."""
    with django_assert_num_queries(3 if connection.vendor == "postgresql" else 0):
        with raw.session_settings(jit="off"):
            pass
        raw.local_settings()
