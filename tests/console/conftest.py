"""People and data for the console's tests: an anonymous visitor, a customer, an operator (staff with the
console's permissions, not a superuser), a staff member without them, and a superuser; a shop with a course
today, a studio with opening hours and reservations, and orders in the states the attention page lists (paid
goods waiting to ship among them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from bookdesk.accounts.models import User
from bookdesk.catalog.models import Course, Product
from bookdesk.catalog.selectors import business_time_zone, business_today
from bookdesk.orders.models import HoldStatus, Order, OrderStatus, Shipment
from bookdesk.orders.services import ItemRequest
from bookdesk.orders.shipping import ShippingOption, shipment_record
from factories import CourseFactory, PhysicalProductFactory, StaffUserFactory, UserFactory, confirm, place, set_holds

STANDARD_DE = ShippingOption(
    rate_id=1, zone="Germany", display_name="Standard — Germany", amount=490, currency="eur", countries=("DE",)
)

# What the "operator" group grants (the admin helper's group does the same): the console and its actions.
OPERATOR_PERMISSIONS = (
    ("orders", "view_order"),
    ("orders", "change_order"),
    ("orders", "change_booking"),
    ("orders", "change_shipment"),
    ("payments", "add_refund"),
    ("payments", "change_webhookevent"),
    ("payments", "view_invoice"),
    ("notifications", "change_outgoingemail"),
)


def grant(user: User, *perms: tuple[str, str]) -> User:
    for app, codename in perms:
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)  # a fresh instance: permissions are cached on the old one


def operator_user(
    email: str = "operator@example.com", perms: tuple[tuple[str, str], ...] = OPERATOR_PERMISSIONS
) -> User:
    return grant(UserFactory(email=email, is_staff=True, first_name="Olga", last_name="Operator"), *perms)


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def operator(db: None) -> Client:
    return client_for(operator_user())


@pytest.fixture
def viewer(db: None) -> Client:
    """Staff who may look at the console (view_order) but do nothing in it."""
    return client_for(operator_user("viewer@example.com", perms=(("orders", "view_order"),)))


@pytest.fixture
def superuser(db: None) -> Client:
    return client_for(StaffUserFactory(email="boss@example.com"))


@pytest.fixture
def customer(db: None) -> Client:
    return client_for(UserFactory(email="carla@example.com"))


@pytest.fixture
def bare_staff(db: None) -> Client:
    """Staff without the console's permission."""
    return client_for(UserFactory(email="intern@example.com", is_staff=True))


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=business_time_zone()).astimezone(dt.UTC)


def course_today(**fields: Any) -> Course:
    """A course on today's date (business time), 10:00–23:00 so it is on today wherever the clock is."""
    today = business_today()
    defaults: dict[str, Any] = {"starts_at": local(today, 10), "ends_at": local(today, 23), "capacity": 12}
    return CourseFactory(**{**defaults, **fields})


def seat_order(course: Course, user: User | None = None, *, status: str = OrderStatus.CONFIRMED) -> Order:
    """A seat of `course` placed through `order_place`, then confirmed (or left pending, or refunded).

    A course that has started takes no new bookings: it is moved ahead while the seat is placed, then back.
    """
    starts_at, ends_at = course.starts_at, course.ends_at
    started = starts_at <= timezone.now()
    if started:
        ahead = timezone.now() + dt.timedelta(days=1)
        Course.objects.filter(pk=course.pk).update(starts_at=ahead, ends_at=ahead + dt.timedelta(hours=1))
    order = place(user or UserFactory(), ItemRequest(kind="course", course_id=course.pk))
    if started:
        Course.objects.filter(pk=course.pk).update(starts_at=starts_at, ends_at=ends_at)
    if status == OrderStatus.CONFIRMED:
        return confirm(order)
    if status == OrderStatus.REFUNDED:
        set_holds(order, HoldStatus.CANCELLED)
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED, amount_refunded=order.total_amount)
    order.refresh_from_db()
    return order


def goods_shipment(product: Product, *, paid_hours_ago: float, status: str = OrderStatus.CONFIRMED) -> Shipment:
    """A record placed through `order_place`, paid `paid_hours_ago` (its shipment recorded then), not shipped."""
    order = confirm(place(UserFactory(), ItemRequest(kind="product", product_id=product.pk, quantity=1)))
    if status != OrderStatus.CONFIRMED:
        Order.objects.filter(pk=order.pk).update(status=status)
    address = {"line1": "Oranienstraße 12", "postal_code": "10999", "city": "Berlin", "country": "DE"}
    shipment = shipment_record(
        order=order, name="Ada Lovelace", address=address, option=STANDARD_DE, stripe_rate="shr_1", actor="stripe"
    )
    paid_at = timezone.now() - dt.timedelta(hours=paid_hours_ago)
    Shipment.objects.filter(pk=shipment.pk).update(created_at=paid_at)
    shipment.created_at = paid_at
    return shipment


def lapse(order: Order) -> None:
    Order.objects.filter(pk=order.pk).update(hold_expires_at=timezone.now() - dt.timedelta(minutes=1))


def fill_shop(n: int) -> dict[str, Any]:
    """`n` of everything every console page lists: seats of a course today (confirmed, one held), studio
    sessions tomorrow, orders under review, failed refunds, dead events, failed emails, paid payments, paid
    goods waiting to ship for days."""
    from bookdesk.notifications.models import OutgoingEmail
    from bookdesk.payments.models import Payment, Refund, WebhookEvent
    from factories import slot, studio

    course = course_today(capacity=n + 5)
    orders = [seat_order(course) for _ in range(n)]
    held = seat_order(course, status=OrderStatus.PENDING)
    service, day = studio(days_ahead=1)
    hours = [9 + (i % 9) for i in range(n)]
    sessions = []
    for i, hour in enumerate(hours):
        if i >= 9:
            break
        sessions.append(
            confirm(place(UserFactory(), ItemRequest(kind="service", service_id=service.pk, starts_at=slot(day, hour))))
        )
    now = timezone.now()
    for i, order in enumerate(orders):
        payment = Payment.objects.create(
            order=order,
            attempt=1,
            session_id=f"cs_test_fill_{order.code}",
            payment_intent_id=f"pi_fill_{order.code}",
            status=Payment.Status.PAID,
            amount=order.total_amount,
            amount_received=order.total_amount,
            currency=order.currency,
            expires_at=now + dt.timedelta(hours=1),
        )
        Refund.objects.create(
            payment=payment, stripe_refund_id=f"re_fill_{i}", amount=100, currency="eur", status="failed", reason="x"
        )
        WebhookEvent.objects.create(
            stripe_id=f"evt_fill_{i}",
            type="charge.refunded",
            payload={"id": f"evt_fill_{i}", "data": {"object": {}}},
            stripe_created=now,
            status=WebhookEvent.Status.DEAD,
            attempts=8,
            next_attempt_at=now,
            last_error="RuntimeError: boom",
        )
        OutgoingEmail.objects.create(
            key=f"fill:{i}", to=order.email, subject="Your booking", text_body="Hi", order=order, status="dead"
        )
    Order.objects.filter(pk__in=[o.pk for o in orders[: max(1, n // 2)]]).update(
        status=OrderStatus.NEEDS_REVIEW, review_reason="dispute du_1: fraudulent"
    )
    vinyl = PhysicalProductFactory(stock=n + 5)
    shipments = [goods_shipment(vinyl, paid_hours_ago=72 + i) for i in range(n)]
    return {
        "course": course,
        "orders": orders,
        "held": held,
        "service": service,
        "day": day,
        "sessions": sessions,
        "shipments": shipments,
    }
