"""Cancelling an order line by line: each kind's policy, its refusals, the money, and one refund at a time."""

from __future__ import annotations

import threading
from datetime import time, timedelta
from typing import Any

import pytest
import stripe
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookdesk.catalog.selectors import business_time_zone, business_today
from bookdesk.orders.models import (
    Booking,
    Grant,
    HoldStatus,
    Order,
    OrderLine,
    OrderStatus,
    Reservation,
    Shipment,
    ShipmentStatus,
)
from bookdesk.orders.shipping import shipment_mark_shipped
from bookdesk.payments import events
from bookdesk.payments.models import CreditNote, Invoice, Payment, Refund
from bookdesk.payments.policy import facts_of, line_terms
from bookdesk.payments.refunds import order_lines_cancel
from factories import (
    BeatFactory,
    CourseFactory,
    OpeningHoursFactory,
    PhysicalProductFactory,
    ResourceFactory,
    ServiceFactory,
    UserFactory,
)
from parallel import at_once
from problems import assert_problem

from .conftest import deliver, intent_events, pay, run_inbox, session_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]


BERLIN = {"line1": "Oranienstraße 12", "postal_code": "10999", "city": "Berlin", "country": "DE"}


def add(client: Client, **item: Any) -> None:
    response = client.post("/api/cart/items", item, content_type="application/json")
    assert response.status_code == 201, response.content


def bought(
    stripe_client: stripe.StripeClient, *items: dict[str, Any], client: Client | None = None
) -> tuple[Client, Order]:
    """A confirmed order of these cart items, paid through the sandbox and fulfilled by its webhooks."""
    if client is None:
        client = Client()
        client.force_login(UserFactory())
    for item in items:
        add(client, **item)
    answer = client.post("/api/checkout")
    assert answer.status_code == 201, answer.content
    session_id = answer.json()["session_id"]
    goods = any(item["kind"] == "product" and "license_id" not in item for item in items)
    pay(stripe_client, session_id, **({"shipping_details": {"name": "Ada", "address": BERLIN}} if goods else {}))
    for event in session_events(stripe_client, session_id):
        deliver(event)
    run_inbox()
    order = Order.objects.get(code=answer.json()["order"]["code"])
    assert order.status == OrderStatus.CONFIRMED
    return client, order


def course_item(price: int = 10_000, starts_in: timedelta = timedelta(days=7)) -> dict[str, Any]:
    course = CourseFactory(price_amount=price, capacity=1, starts_at=timezone.now() + starts_in)
    return {"kind": "course", "course_id": course.pk}


def license_item(tier: str = "basic") -> dict[str, Any]:
    beat = BeatFactory()
    return {"kind": "product", "product_id": beat.pk, "license_id": beat.licenses.get(tier=tier).pk}


def slot_item(days: int = 5) -> dict[str, Any]:
    room = ResourceFactory()
    for weekday in range(7):
        OpeningHoursFactory(resource=room, weekday=weekday, opens_at=time(9), closes_at=time(18))
    service = ServiceFactory(duration_minutes=60, price_amount=6000, resources=[room])
    day = business_today() + timedelta(days=days)
    starts = timezone.datetime.combine(day, time(10), tzinfo=business_time_zone())
    return {"kind": "service", "service_id": service.pk, "starts_at": starts.isoformat()}


def line_of(order: Order, kind: str, *, goods: bool = False) -> OrderLine:
    lines = OrderLine.objects.filter(order=order, kind=kind)
    if kind == OrderLine.Kind.PRODUCT:
        lines = lines.filter(license__isnull=goods)
    return lines.get()


def cancel(client: Client, order: Order, line: OrderLine) -> Any:
    return client.post(f"/api/orders/{order.code}/lines/{line.pk}/cancel")


def stripe_refunded(stripe_client: stripe.StripeClient, order: Order) -> int:
    intent = Payment.objects.get(order=order).payment_intent_id
    return sum(r.amount for r in stripe_client.v1.refunds.list(params={"payment_intent": intent, "limit": 100}).data)


def test_a_course_line_is_refunded_with_its_tax_and_the_rest_stays(
    stripe_client: stripe.StripeClient, settings: Any
) -> None:
    settings.PRICES_INCLUDE_TAX = False  # tax on top: the line's refund carries its share of it
    client, order = bought(stripe_client, course_item(10_000), license_item())
    course_line = line_of(order, OrderLine.Kind.COURSE)

    response = cancel(client, order, course_line)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["line_status"] == "cancelled"
    assert body["order_status"] == "partially_refunded"
    assert body["refund"] == {"amount": 11_900, "currency": "eur"}
    assert body["tax"] == {"amount": 1_900, "currency": "eur"}
    order.refresh_from_db()
    assert order.amount_refunded == 11_900
    assert stripe_refunded(stripe_client, order) == 11_900
    assert Booking.objects.get(line__order=order).status == HoldStatus.CANCELLED
    assert Grant.objects.get(line__order=order).status == HoldStatus.CONFIRMED
    lines = {line["id"]: line for line in body["order"]["lines"]}
    assert lines[course_line.pk]["amount_refunded"]["amount"] == 11_900
    assert lines[course_line.pk]["can_cancel"] is False
    # The seat is for sale again.
    assert Client().get(f"/api/courses/{course_line.course_id}").json()["seats_left"] == 1
    actions = list(order.audit_entries.values_list("action", flat=True))
    assert {"line.cancelled", "refund.created", "order.partially_refunded"} <= set(actions)
    # Its credit note lists the cancelled line with the tax it gives back, against the order's invoice.
    (note,) = CreditNote.objects.filter(invoice__order=order)
    assert [(line["description"], line["gross"], line["tax"], line["tax_rate"]) for line in note.lines] == [
        (f"Cancelled: {course_line.description}", 11_900, 1_900, course_line.tax_rate)
    ]
    assert (note.total_amount, note.tax_amount) == (11_900, 1_900)


def test_every_line_refunded_sums_to_the_order_and_to_stripe(stripe_client: stripe.StripeClient, settings: Any) -> None:
    settings.PRICES_INCLUDE_TAX = False
    settings.TAX_RATE_BASIS_POINTS = 1_900
    # Three prices whose tax shares do not split evenly: the shares must still sum to the order's tax.
    client, order = bought(stripe_client, course_item(3_333), course_item(3_333), license_item(), slot_item())
    refunds, taxes = 0, 0
    for line in OrderLine.objects.filter(order=order).order_by("pk"):
        body = cancel(client, order, line).json()
        refunds += body["refund"]["amount"]
        taxes += body["tax"]["amount"]

    order.refresh_from_db()
    assert taxes == order.tax_amount
    assert refunds == order.total_amount == order.amount_refunded
    assert stripe_refunded(stripe_client, order) == order.total_amount
    assert order.status == OrderStatus.REFUNDED
    assert Reservation.objects.get(line__order=order).status == HoldStatus.CANCELLED


def test_the_cutoff_refuses_a_seat_and_nothing_changes(stripe_client: stripe.StripeClient) -> None:
    client, order = bought(stripe_client, course_item(starts_in=timedelta(hours=20)))
    line = line_of(order, OrderLine.Kind.COURSE)

    problem = assert_problem(cancel(client, order, line), status=409, code="not_refundable")

    assert "48 hours before the start" in problem["detail"]
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.CONFIRMED, 0)
    assert OrderLine.objects.get(pk=line.pk).status == OrderLine.Status.ACTIVE
    assert Booking.objects.get(line=line).status == HoldStatus.CONFIRMED
    assert not Refund.objects.exists()


def test_a_slot_is_refunded_at_the_policy_share(stripe_client: stripe.StripeClient, settings: Any) -> None:
    settings.CANCELLATION_REFUND_PERCENT = 80
    client, order = bought(stripe_client, slot_item(), course_item())
    line = line_of(order, OrderLine.Kind.SERVICE)

    body = cancel(client, order, line).json()

    assert body["refund"]["amount"] == 6_000 * 80 // 100
    assert Reservation.objects.get(line=line).status == HoldStatus.CANCELLED


def test_a_downloaded_license_is_never_refunded(stripe_client: stripe.StripeClient) -> None:
    client, order = bought(stripe_client, license_item(), course_item())
    line = line_of(order, OrderLine.Kind.PRODUCT)
    Grant.objects.filter(line=line).update(download_count=1)

    detail = client.get(f"/api/orders/{order.code}").json()
    listed = next(entry for entry in detail["lines"] if entry["id"] == line.pk)
    assert (listed["can_cancel"], listed["cancel_refund"]) == (False, None)
    assert "downloaded" in listed["cancel_refusal"]

    problem = assert_problem(cancel(client, order, line), status=409, code="not_refundable")
    assert "downloaded" in problem["detail"]
    assert Grant.objects.get(line=line).status == HoldStatus.CONFIRMED
    assert Order.objects.get(pk=order.pk).amount_refunded == 0


def test_a_license_is_refunded_only_within_its_days(stripe_client: stripe.StripeClient, settings: Any) -> None:
    client, order = bought(stripe_client, license_item())
    line = line_of(order, OrderLine.Kind.PRODUCT)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=15))

    problem = assert_problem(cancel(client, order, line), status=409, code="not_refundable")
    assert "within 14 days" in problem["detail"]

    settings.LICENSE_REFUND_DAYS = 30
    body = cancel(client, order, line).json()
    assert (body["refund"]["amount"], body["order_status"]) == (2_999, "refunded")
    assert Grant.objects.get(line=line).status == HoldStatus.CANCELLED


def test_goods_are_refunded_with_the_shipping_when_the_last_goods_go(
    stripe_client: stripe.StripeClient, settings: Any
) -> None:
    # €48 of goods: under the German zone's free-shipping threshold (€60)
    vinyl, tape = PhysicalProductFactory(price_amount=1_800, stock=5), PhysicalProductFactory(price_amount=1_200)
    client, order = bought(
        stripe_client,
        {"kind": "product", "product_id": vinyl.pk, "quantity": 2},
        {"kind": "product", "product_id": tape.pk, "quantity": 1},
    )
    shipping = order.shipping_amount
    assert shipping > 0  # the German zone's standard rate, chosen on the payment page
    first, second = OrderLine.objects.filter(order=order).order_by("pk")

    assert cancel(client, order, first).json()["shipping"]["amount"] == 0
    assert Client().get(f"/api/products/{vinyl.pk}").json()["stock_left"] == 5  # its units are for sale again
    assert Shipment.objects.get(order=order).status == ShipmentStatus.TO_SHIP  # the tape still ships
    last = cancel(client, order, second).json()

    assert last["shipping"]["amount"] == shipping
    assert last["refund"]["amount"] == 1_200 + shipping
    order.refresh_from_db()
    assert order.amount_refunded == order.total_amount == stripe_refunded(stripe_client, order)
    assert order.status == OrderStatus.REFUNDED
    # Nothing is left to send: the shipment is cancelled, off the list of orders to ship.
    assert Shipment.objects.get(order=order).status == ShipmentStatus.CANCELLED
    # The last credit note gives back the shipping as a line of its own; the notes add up to the invoice.
    notes = list(CreditNote.objects.filter(invoice__order=order).order_by("sequence"))
    assert [line["description"] for line in notes[-1].lines] == [f"Cancelled: {second.description}", "Shipping"]
    invoice = Invoice.objects.get(order=order)
    assert sum(note.total_amount for note in notes) == invoice.total_amount
    assert sum(note.tax_amount for note in notes) == invoice.tax_amount, ([n.lines for n in notes], invoice.lines)


def test_a_line_already_cancelled_is_409(stripe_client: stripe.StripeClient) -> None:
    client, order = bought(stripe_client, course_item(), license_item())
    line = line_of(order, OrderLine.Kind.COURSE)
    assert cancel(client, order, line).status_code == 200

    problem = assert_problem(cancel(client, order, line), status=409, code="not_refundable")

    assert "already cancelled" in problem["detail"]
    assert Refund.objects.count() == 1
    assert stripe_refunded(stripe_client, order) == 10_000


def test_another_customers_order_or_line_is_not_found(stripe_client: stripe.StripeClient) -> None:
    owner, order = bought(stripe_client, course_item(), license_item())
    _, other = bought(stripe_client, course_item())
    line = line_of(order, OrderLine.Kind.COURSE)
    stranger = Client()
    stranger.force_login(UserFactory())

    assert_problem(cancel(stranger, order, line), status=404, code="not_found")
    # The owner's own order with a line of someone else's: not found either, and nothing said about it.
    assert_problem(cancel(owner, order, line_of(other, OrderLine.Kind.COURSE)), status=404, code="not_found")
    assert_problem(owner.post(f"/api/orders/{order.code}/lines/999999/cancel"), status=404, code="not_found")
    assert_problem(owner.post(f"/api/orders/{order.code}/lines/0/cancel"), status=422, code="invalid")
    assert Client().post(f"/api/orders/{order.code}/lines/{line.pk}/cancel").status_code == 401
    assert not Refund.objects.exists()
    assert OrderLine.objects.get(pk=line.pk).status == OrderLine.Status.ACTIVE


def test_an_unpaid_order_line_cannot_be_cancelled_this_way() -> None:
    client = Client()
    client.force_login(UserFactory())
    add(client, **course_item())
    code = client.post("/api/checkout").json()["order"]["code"]
    line = OrderLine.objects.get(order__code=code)

    problem = assert_problem(
        client.post(f"/api/orders/{code}/lines/{line.pk}/cancel"), status=409, code="not_refundable"
    )

    assert "confirmed" in problem["detail"]
    assert Order.objects.get(code=code).status == OrderStatus.PENDING


def test_the_order_cancel_refunds_what_the_policy_allows_and_lists_the_rest(
    stripe_client: stripe.StripeClient,
) -> None:
    client, order = bought(
        stripe_client, course_item(10_000), license_item(), course_item(starts_in=timedelta(hours=5))
    )
    licence = line_of(order, OrderLine.Kind.PRODUCT)
    Grant.objects.filter(line=licence).update(download_count=2)

    response = client.post(f"/api/orders/{order.code}/cancel")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "partially_refunded"
    cancellation = body["cancellation"]
    assert cancellation["refund"]["amount"] == 10_000
    assert [line["refund"]["amount"] for line in cancellation["refunded"]] == [10_000]
    reasons = {line["id"]: line["reason"] for line in cancellation["refused"]}
    assert "downloaded" in reasons[licence.pk]
    assert any("48 hours" in reason for reason in reasons.values())
    assert stripe_refunded(stripe_client, order) == 10_000
    assert Grant.objects.get(line=licence).status == HoldStatus.CONFIRMED

    # Again: nothing is left that the policy allows, so nothing changes.
    again = assert_problem(client.post(f"/api/orders/{order.code}/cancel"), status=409, code="not_cancellable")
    assert "downloaded" in again["detail"]
    assert Refund.objects.count() == 1


def test_the_refund_signal_names_the_refunded_lines(stripe_client: stripe.StripeClient) -> None:
    heard: list[dict[str, Any]] = []

    def listen(**kwargs: Any) -> None:
        heard.append(kwargs)

    events.refund_issued.connect(listen, dispatch_uid="test_line_refunds")
    try:
        client, order = bought(stripe_client, course_item(10_000), license_item())
        line = line_of(order, OrderLine.Kind.COURSE)
        cancel(client, order, line)
    finally:
        events.refund_issued.disconnect(dispatch_uid="test_line_refunds")

    assert len(heard) == 1
    (refunded,) = heard[0]["lines"]
    assert (refunded.line_id, refunded.amount, refunded.kind) == (line.pk, 10_000, "course")
    assert heard[0]["amount"] == 10_000


@pytest.mark.django_db(transaction=True)
def test_two_cancels_of_one_line_at_once_refund_it_once(stripe_client: stripe.StripeClient) -> None:
    _, order = bought(stripe_client, course_item(10_000), license_item())
    line = line_of(order, OrderLine.Kind.COURSE)
    user = order.user

    def attempt() -> int:
        own = Client()
        own.force_login(user)
        return int(cancel(own, order, line).status_code)

    statuses = sorted(at_once(4, attempt))

    assert statuses == [200, 409, 409, 409]
    assert Refund.objects.filter(payment__order=order).count() == 1
    assert stripe_refunded(stripe_client, order) == 10_000
    assert Order.objects.get(pk=order.pk).amount_refunded == 10_000


@pytest.mark.django_db(transaction=True)
def test_without_the_order_lock_the_policy_approves_one_line_twice(stripe_client: stripe.StripeClient) -> None:
    """Why the lock: read at once without it, two cancels both find the line active and refundable."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every write transaction: the race needs row locks to show")
    _, order = bought(stripe_client, course_item(), license_item())
    line = line_of(order, OrderLine.Kind.COURSE)
    barrier = threading.Barrier(2)

    def unguarded() -> bool:
        with transaction.atomic():
            facts, lines = facts_of(Order.objects.get(pk=order.pk))  # no select_for_update
            approved = line_terms(facts, lines)[line.pk].refundable
            barrier.wait(timeout=30)
            OrderLine.objects.filter(pk=line.pk).update(status=OrderLine.Status.CANCELLED)
        return approved

    assert at_once(2, unguarded) == [True, True]


def test_an_operator_refunds_one_line_past_the_policy_from_the_admin(
    stripe_client: stripe.StripeClient, admin_client: Any
) -> None:
    _, order = bought(stripe_client, course_item(10_000), license_item())
    licence = line_of(order, OrderLine.Kind.PRODUCT)
    Grant.objects.filter(line=licence).update(download_count=1)  # the customer could not; a return can
    url = reverse("admin:orders_order_refund", args=[order.pk])
    assert "€29.99" in admin_client.get(url).content.decode()

    response = admin_client.post(url, {"line": licence.pk, "reason": "returned"})

    assert response.status_code == 302, response.content.decode()
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, 2_999)
    assert Grant.objects.get(line=licence).status == HoldStatus.CANCELLED
    assert stripe_refunded(stripe_client, order) == 2_999
    assert order.audit_entries.filter(action="line.cancelled", actor__startswith="admin:").count() == 1
    # The line is no longer offered, and a forged post of it again refunds nothing.
    again = admin_client.post(url, {"line": licence.pk, "reason": "again"})
    assert again.status_code == 200
    assert "Select a valid choice" in again.content.decode()
    assert Refund.objects.count() == 1


def test_with_no_refund_share_a_seat_is_cancelled_without_money(
    stripe_client: stripe.StripeClient, settings: Any
) -> None:
    settings.CANCELLATION_REFUND_PERCENT = 0
    client, order = bought(stripe_client, course_item(), license_item())
    line = line_of(order, OrderLine.Kind.COURSE)

    body = cancel(client, order, line).json()

    assert (body["refund"]["amount"], body["line_status"], body["order_status"]) == (0, "cancelled", "confirmed")
    assert not Refund.objects.exists()
    assert Booking.objects.get(line=line).status == HoldStatus.CANCELLED
    assert order.audit_entries.filter(action="order.cancelled_without_refund").count() == 1


def test_stripes_own_refund_events_change_nothing_more(stripe_client: stripe.StripeClient) -> None:
    client, order = bought(stripe_client, course_item(10_000), license_item())
    cancel(client, order, line_of(order, OrderLine.Kind.COURSE))

    for event in intent_events(stripe_client, Payment.objects.get(order=order).payment_intent_id):
        deliver(event)
    run_inbox()

    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, 10_000)
    assert Grant.objects.get(line__order=order).status == HoldStatus.CONFIRMED
    assert Refund.objects.count() == 1


def test_shipped_goods_are_refused_and_nothing_changes_but_an_operator_refunds_a_return(
    stripe_client: stripe.StripeClient,
) -> None:
    vinyl = PhysicalProductFactory(price_amount=2_800)
    client, order = bought(stripe_client, course_item(), {"kind": "product", "product_id": vinyl.pk})
    goods = line_of(order, OrderLine.Kind.PRODUCT, goods=True)
    shipment = Shipment.objects.get(order=order)
    shipment_mark_shipped(shipment_id=shipment.pk, carrier="dhl", tracking_number="00340434", actor="admin:1")

    refused = cancel(client, order, goods)

    assert_problem(refused, status=409, code="not_refundable")
    assert "shipped" in refused.json()["detail"]
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (OrderStatus.CONFIRMED, 0)
    # The order-level cancel refunds the course seat and says the shipped record is not refunded.
    whole = client.post(f"/api/orders/{order.code}/cancel").json()
    assert [line["id"] for line in whole["cancellation"]["refused"]] == [goods.pk]
    assert whole["cancellation"]["shipping"]["amount"] == 0
    # A return: the operator refunds the shipped line past the customer's policy.
    returned = order_lines_cancel(order=order, line_ids=[goods.pk], actor="admin:1", by_operator=True)
    assert returned.amount == goods.total_amount


def test_a_client_cancels_what_its_bookings_list_offers_by_the_listed_line(stripe_client: stripe.StripeClient) -> None:
    """GET /api/bookings names each item's line and what cancelling it gives back; the line cancel takes that
    line and refunds exactly that, and the list then offers it no more."""
    client, order = bought(stripe_client, course_item(10_000), license_item())
    listed = client.get("/api/bookings").json()["items"]
    assert {item["line_id"] for item in listed} == set(order.lines.values_list("pk", flat=True))
    course = next(item for item in listed if item["kind"] == "course")
    assert course["can_cancel"] is True

    response = client.post(f"/api/orders/{order.code}/lines/{course['line_id']}/cancel")

    assert response.status_code == 200, response.content
    assert response.json()["refund"] == course["cancel_refund"]
    assert stripe_refunded(stripe_client, order) == course["cancel_refund"]["amount"]
    after = {item["line_id"]: item for item in client.get("/api/bookings").json()["items"]}
    assert (after[course["line_id"]]["status"], after[course["line_id"]]["can_cancel"]) == ("cancelled", False)
    others = [item for item in listed if item["line_id"] != course["line_id"]]
    assert [after[item["line_id"]]["status"] for item in others] == ["confirmed"] * len(others)
