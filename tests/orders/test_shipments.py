"""The operator's shipping work in the admin: orders to ship, the packing slip, shipped with a tracking number
(the customer's email with the tracking link, through the outbox), then delivered; every step audited."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from bookdesk.notifications.models import OutgoingEmail
from bookdesk.orders.models import AuditEntry, Order, OrderStatus, Shipment, ShipmentStatus
from bookdesk.orders.services import ItemRequest, order_place
from bookdesk.orders.shipping import ShippingOption, shipment_record
from factories import CourseFactory, PhysicalProductFactory, StaffUserFactory, UserFactory

pytestmark = [pytest.mark.django_db]

OPTION = ShippingOption(
    rate_id=1, zone="Germany", display_name="Standard — Germany", amount=490, currency="eur", countries=("DE",)
)
ADDRESS = {"line1": "Oranienstraße 12", "line2": "", "postal_code": "10999", "city": "Berlin", "country": "DE"}


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(StaffUserFactory())
    return client


def shipment(status: str = OrderStatus.CONFIRMED, email: str = "ada@example.com") -> Shipment:
    vinyl = PhysicalProductFactory(title="Vinyl: Night Sessions LP")
    course = CourseFactory(title="Mixing basics")
    items = [
        ItemRequest(kind="product", product_id=vinyl.pk, quantity=2),
        ItemRequest(kind="course", course_id=course.pk),
    ]
    order = order_place(user=UserFactory(email=email), items=items)
    Order.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    return shipment_record(
        order=order, name="Ada Lovelace", address=ADDRESS, option=OPTION, stripe_rate="shr_1", actor="stripe"
    )


def test_the_list_shows_orders_to_ship_by_status(staff: Client) -> None:
    waiting = shipment()
    Shipment.objects.filter(pk=shipment(email="bob@example.com").pk).update(
        status=ShipmentStatus.DELIVERED, tracking_number="X1"
    )

    page = staff.get("/admin/orders/shipment/?status__exact=to_ship").content.decode()

    assert waiting.order.code in page
    assert page.count("Ada Lovelace") == 1


def test_the_packing_slip_lists_the_address_and_the_goods_with_quantities(staff: Client) -> None:
    parcel = shipment()

    response = staff.get(f"/admin/orders/shipment/{parcel.pk}/packing-slip/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert parcel.order.code in text
    assert "bookdesk" in text.lower()
    for part in ("Ada Lovelace", "Oranienstraße 12", "10999 Berlin", "Standard — Germany"):
        assert part in text
    assert "10999 Berlin\nGermany\n" in text  # the country by its name, not "DE"
    assert "2\nVinyl: Night Sessions LP" in text or "2 Vinyl: Night Sessions LP" in text
    assert "€" not in text  # no prices on a packing slip


def test_mark_shipped_emails_the_tracking_link_then_delivered(staff: Client) -> None:
    parcel = shipment()

    response = staff.post(
        f"/admin/orders/shipment/{parcel.pk}/ship/", {"carrier": "dhl", "tracking_number": "00340434161094042557"}
    )

    assert response.status_code == 302
    parcel.refresh_from_db()
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == ("shipped", "dhl", "00340434161094042557")
    assert parcel.tracking_url.endswith("piececode=00340434161094042557")
    email = OutgoingEmail.objects.get(key=f"order:{parcel.order.code}:shipped:{parcel.pk}")
    assert email.to == "ada@example.com"
    assert parcel.order.code in email.subject
    assert parcel.tracking_url in email.text_body
    assert parcel.tracking_url in email.html_body
    assert staff.get(f"/admin/orders/shipment/{parcel.pk}/change/").status_code == 200

    assert staff.post(f"/admin/orders/shipment/{parcel.pk}/deliver/").status_code == 302
    parcel.refresh_from_db()
    assert parcel.status == "delivered"
    assert parcel.delivered_at is not None
    actions = list(AuditEntry.objects.filter(order=parcel.order).values_list("action", "actor"))
    assert ("shipment.shipped", f"admin:{response.wsgi_request.user.pk}") in actions
    assert ("shipment.delivered", f"admin:{response.wsgi_request.user.pk}") in actions


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"carrier": "pigeon", "tracking_number": "ABC123"}, "Select a valid choice"),
        ({"carrier": "dhl", "tracking_number": ""}, "This field is required"),
        ({"carrier": "dhl", "tracking_number": "<script>"}, "tracking number"),
    ],
)
def test_bad_tracking_input_changes_nothing(staff: Client, form: dict[str, Any], message: str) -> None:
    parcel = shipment()

    response = staff.post(f"/admin/orders/shipment/{parcel.pk}/ship/", form)

    assert response.status_code == 400
    assert message in response.content.decode()
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == ("to_ship", "")
    assert not OutgoingEmail.objects.exists()


def test_an_unpaid_order_does_not_ship_and_an_unshipped_parcel_is_not_delivered(staff: Client) -> None:
    unpaid = shipment(status=OrderStatus.PENDING)
    response = staff.post(f"/admin/orders/shipment/{unpaid.pk}/ship/", {"carrier": "dhl", "tracking_number": "ABC123"})
    assert response.status_code == 400
    assert "only a confirmed order ships" in response.content.decode()

    response = staff.post(f"/admin/orders/shipment/{unpaid.pk}/deliver/")
    assert response.status_code == 400
    unpaid.refresh_from_db()
    assert unpaid.status == "to_ship"
    assert not AuditEntry.objects.filter(action__in=["shipment.shipped", "shipment.delivered"]).exists()
    assert not OutgoingEmail.objects.exists()


def test_a_customer_cannot_reach_the_shipping_admin() -> None:
    parcel = shipment()
    client = Client()
    client.force_login(UserFactory())
    assert client.get(f"/admin/orders/shipment/{parcel.pk}/packing-slip/").status_code == 302
    assert (
        client.post(
            f"/admin/orders/shipment/{parcel.pk}/ship/", {"carrier": "dhl", "tracking_number": "A12"}
        ).status_code
        == 302
    )
    parcel.refresh_from_db()
    assert parcel.status == "to_ship"
