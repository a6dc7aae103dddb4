"""bookdesk.db.compiled writes and locks exactly what the ORM would, from statements compiled once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Model
from django.utils import timezone

from bookdesk.catalog.models import Course
from bookdesk.db import compiled
from bookdesk.orders.models import AuditEntry, Booking, Order, OrderLine
from bookdesk.payments.models import Payment
from factories import CourseFactory, UserFactory


def stored(obj: Model) -> dict[str, Any]:
    """Every column of the row as the ORM reads it back."""
    fresh = type(obj)._default_manager.get(pk=obj.pk)
    return {field.attname: getattr(fresh, field.attname) for field in fresh._meta.concrete_fields}


def order_for(user: Any, **changes: Any) -> Order:
    values = {
        "user": user,
        "email": user.email,
        "kind": "course_booking",
        "currency": "eur",
        "subtotal_amount": 3782,
        "tax_amount": 718,
        "total_amount": 4500,
        "hold_expires_at": timezone.now() + timedelta(minutes=31),
    }
    return Order(**{**values, **changes})


@pytest.mark.django_db
def test_insert_writes_the_row_save_writes() -> None:
    user, hold = UserFactory(), timezone.now() + timedelta(minutes=31)
    by_orm, by_rows = order_for(user, hold_expires_at=hold), order_for(user, hold_expires_at=hold)
    by_orm.save()
    assert compiled.insert(by_rows) is by_rows
    assert by_rows.pk is not None
    assert by_rows.pk != by_orm.pk
    assert not by_rows._state.adding
    ours, theirs = stored(by_rows), stored(by_orm)
    assert ours["created_at"] == by_rows.created_at  # auto_now_add applied to the object, as save() does
    assert by_rows.code != by_orm.code  # each got its own default
    for name in ("id", "code", "created_at", "updated_at"):
        ours.pop(name), theirs.pop(name)
    assert ours == theirs


@pytest.mark.django_db
def test_insert_keeps_json_foreign_keys_and_defaults() -> None:
    user = UserFactory()
    order = compiled.insert(order_for(user))
    line = compiled.insert(
        OrderLine(order=order, kind="course", description="Seat", quantity=1, unit_amount=4500, total_amount=4500)
    )
    booking = compiled.insert(Booking(line=line, course=CourseFactory(), user=user))
    entry = compiled.insert(
        AuditEntry(actor="user:1", action="order.placed", order=order, object_type="order", object_id=order.code,
                   data={"total": 4500, "lines": ["ä", None], "nested": {"ok": True}})
    )  # fmt: skip
    assert stored(line)["order_id"] == order.pk
    assert stored(booking)["status"] == "held"
    assert stored(entry)["data"] == {"total": 4500, "lines": ["ä", None], "nested": {"ok": True}}
    assert list(order.lines.all()) == [line]


@pytest.mark.django_db
def test_update_writes_the_fields_and_the_auto_now_ones() -> None:
    payment = compiled.insert(
        Payment(order=compiled.insert(order_for(UserFactory())), attempt=1, amount=4500, currency="eur",
                expires_at=timezone.now() + timedelta(minutes=31))
    )  # fmt: skip
    before = stored(payment)
    payment.session_id, payment.status, payment.amount = "cs_test_1", Payment.Status.OPEN, 1

    compiled.update(payment, ["session_id", "status"])

    after = stored(payment)
    assert (after["session_id"], after["status"]) == ("cs_test_1", "open")
    assert after["amount"] == 4500  # not named: not written
    assert after["updated_at"] > before["updated_at"]
    Payment.objects.filter(pk=payment.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        compiled.update(payment, ["status"])


@pytest.mark.django_db
def test_lock_reads_what_the_orm_reads_in_key_order() -> None:
    courses = [CourseFactory(capacity=capacity) for capacity in (3, 1, 2)]
    ids = [course.pk for course in reversed(courses)] + [courses[0].pk, 10**9]  # shuffled, a repeat, a missing one
    with transaction.atomic():
        locked = compiled.lock(Course, ids)
        expected = Course.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        assert list(locked) == [course.pk for course in expected]
        for course in expected:
            mine = locked[course.pk]
            assert not mine._state.adding
            assert {f.attname: getattr(mine, f.attname) for f in Course._meta.concrete_fields} == {
                f.attname: getattr(course, f.attname) for f in Course._meta.concrete_fields
            }
        assert compiled.lock(Course, []) == {}


@pytest.mark.django_db(transaction=True)
def test_a_locked_row_waits_for_its_holder_to_commit() -> None:
    course = CourseFactory()
    held, released_at, locked_at = threading.Event(), [0.0], [0.0]

    def holder() -> None:
        try:
            with transaction.atomic():
                compiled.lock(Course, [course.pk])
                held.set()
                time.sleep(0.5)
                released_at[0] = time.monotonic()
        finally:
            connections.close_all()

    def contender() -> None:
        held.wait(5)
        try:
            with transaction.atomic():  # on SQLite the IMMEDIATE transaction itself waits for the write lock
                compiled.lock(Course, [course.pk])
                locked_at[0] = time.monotonic()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=holder), threading.Thread(target=contender)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert held.is_set()
    assert locked_at[0] >= released_at[0] > 0, "the second locker got the row while the first held it"
    sql = compiled._selects[(connection.alias, Course, 1, True)][0]
    assert ("FOR UPDATE" in sql) == connection.features.has_select_for_update


@pytest.mark.django_db
def test_hand_prefetched_reads_as_prefetch_related_does(django_assert_num_queries: Any) -> None:
    user = UserFactory()
    order = compiled.insert(order_for(user))
    lines = [
        compiled.insert(OrderLine(order=order, kind="course", description=f"Seat {n}", quantity=1, unit_amount=100,
                                  total_amount=100))
        for n in range(3)
    ]  # fmt: skip
    by_orm = Order.objects.prefetch_related("lines").get(pk=order.pk)
    compiled.hand_prefetched(order, "lines", lines)
    with django_assert_num_queries(0):
        in_hand = list(order.lines.all())
        prefetched = list(by_orm.lines.all())
    assert [line.pk for line in in_hand] == [line.pk for line in prefetched]
    assert in_hand == lines
