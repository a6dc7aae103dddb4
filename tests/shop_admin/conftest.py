"""A shop as an owner sees it in the admin: the demo catalog (`bookdesk seed`), orders of every kind through the
real `order_place` (one in JPY), their payments, a refund, a dead webhook event and a failed email with long
texts, a customer, a superuser and an operator."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from bookdesk.accounts.models import User
from bookdesk.accounts.services import user_make_operator
from bookdesk.catalog.models import Course, License, Product, Service
from bookdesk.notifications.models import OutgoingEmail
from bookdesk.orders.models import Order
from bookdesk.orders.services import ItemRequest
from bookdesk.payments.models import Payment, Refund, WebhookEvent
from factories import CourseFactory, StaffUserFactory, UserFactory, confirm, place, slot, verified_customer

LONG_ERROR = (
    "stripe.InvalidRequestError: Request req_9Xk2LmQpZr8TtVvWw: No such checkout.session: "
    "'cs_test_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V2w3X4y5Z6a7B8c9D0e1F2g3H4'; a similar object exists in "
    "test mode, but a live mode key was used to make this request.\nTraceback (most recent call last): …"
)


@dataclass
class Shop:
    superuser: User
    operator: User
    customer: User
    orders: list[Order]


def shop_records() -> Shop:
    call_command("seed", verbosity=0)
    customer = verified_customer("maximiliane.oberhausen-wittgenstein@example-hochschule.de")
    course = Course.objects.filter(starts_at__gt=timezone.now()).order_by("starts_at").first()
    service = Service.objects.order_by("pk").first()
    beat = Product.objects.filter(kind="digital", licenses__isnull=False).order_by("pk").first()
    assert course is not None, "the seed's catalog has a course to come"
    assert service is not None
    assert beat is not None
    license_ = License.objects.filter(product=beat).order_by("price_amount").first()
    opening = service.resources.first().opening_hours.first()  # type: ignore[union-attr]
    day = timezone.localdate() + dt.timedelta(days=(opening.weekday - timezone.localdate().weekday()) % 7 + 7)
    yen = CourseFactory(title="Tokyo beat camp", currency="jpy", price_amount=12000, capacity=20)
    orders = [
        confirm(place(customer, ItemRequest(kind="course", course_id=course.pk))),
        place(customer, ItemRequest(kind="service", service_id=service.pk, starts_at=slot(day, opening.opens_at.hour))),
        confirm(place(customer, ItemRequest(kind="product", product_id=beat.pk, license_id=license_.pk))),
        place(UserFactory(), ItemRequest(kind="course", course_id=yen.pk)),
    ]
    for number, order in enumerate(orders):
        payment = Payment.objects.create(
            order=order,
            attempt=1,
            session_id=f"cs_test_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0u1V2w3X4y5Z6a7B8c9D0e{number}",
            payment_intent_id=f"pi_3QkXyZ2eZvKYlo2C1a2b3c4d{number}",
            checkout_url="https://checkout.stripe.com/c/pay/cs_test_" + "a1B2c3D4" * 12,
            status=Payment.Status.PAID if order.status == "confirmed" else Payment.Status.OPEN,
            amount=order.total_amount,
            amount_received=order.total_amount if order.status == "confirmed" else 0,
            currency=order.currency,
            expires_at=order.hold_expires_at,
        )
        if number == 0:
            Refund.objects.create(
                payment=payment,
                stripe_refund_id="re_3QkXyZ2eZvKYlo2C0partial01",
                amount=1250,
                currency=order.currency,
                status=Refund.Status.SUCCEEDED,
                reason="Goodwill: the customer missed the first half of the session because of a train strike",
            )
    WebhookEvent.objects.create(
        stripe_id="evt_1QkXyZ2eZvKYlo2CdeadEvent0",
        type="checkout.session.async_payment_succeeded",
        payload={"id": "evt_1QkXyZ2eZvKYlo2CdeadEvent0", "data": {"object": {"id": "cs_test_" + "x" * 200}}},
        stripe_created=timezone.now(),
        next_attempt_at=timezone.now(),
        status=WebhookEvent.Status.DEAD,
        attempts=8,
        last_error=LONG_ERROR,
        outcome="failed after 8 attempts: the session it names does not exist in this account " * 3,
    )
    OutgoingEmail.objects.create(
        key=f"order-confirmed:{orders[0].code}:with-a-rather-long-key-for-the-outbox",
        to=customer.email,
        subject=f"Your booking {orders[0].code} is confirmed — Mixing Fundamentals with the whole studio team",
        text_body="Hello\n" * 50,
        order=orders[0],
        status=OutgoingEmail.Status.DEAD,
        attempts=8,
        last_error="SMTPRecipientsRefused: {'" + customer.email + "': (550, b'5.1.1 mailbox unavailable')}",
    )
    operator, _ = user_make_operator(email="operator@example.com")
    operator.set_password("operator-pass-1")
    operator.save()
    return Shop(superuser=StaffUserFactory(), operator=operator, customer=customer, orders=orders)


@pytest.fixture
def shop(demo_media: Any) -> Shop:
    return shop_records()


def admin_pages() -> list[tuple[str, type[Model]]]:
    """(label, model) of every model the admin lists."""
    return sorted(
        ((f"{model._meta.app_label}.{model._meta.model_name}", model) for model in admin.site._registry),
        key=lambda pair: pair[0],
    )


def changelist_url(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change_url(model: type[Model]) -> str | None:
    obj = model._default_manager.order_by("pk").first()
    if obj is None:
        return None
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
