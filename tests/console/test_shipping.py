"""The shipping desk (/console/shipping): parcels to send, the longest waiting first, with their goods, address
and packing slip; marked shipped with the carrier and tracking number (the customer emailed the link, over
SMTP) and later delivered, each step audited with the operator; bad input and steps taken meanwhile are said
plainly and change nothing."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from bookdesk.bookings import shipping as shipping_model
from bookdesk.notifications.models import OutgoingEmail
from bookdesk.notifications.services import emails_send_due
from bookdesk.orders.models import AuditEntry, Order, OrderStatus, Shipment, ShipmentStatus
from bookdesk.orders.shipping import shipment_mark_shipped
from factories import PhysicalProductFactory
from smtp_listener import MailHandler

from .conftest import goods_shipment

pytestmark = pytest.mark.django_db


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def _post(client: Client, url: str, data: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """POST an action and follow it back to the desk: where it landed and the messages it shows."""
    response = client.post(url, data or {}, follow=True)
    assert response.status_code == 200
    return response.redirect_chain[0][0], [str(m) for m in response.context["messages"]]


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    end = html.find("<section", start)
    return html[start : end if end > 0 else None]


def test_the_desk_lists_parcels_to_send_longest_waiting_first_with_their_goods(operator: Client, settings: Any) -> None:
    settings.SHIP_WITHIN_HOURS = 48
    vinyl = PhysicalProductFactory(title="Night Sessions LP", stock=20)
    fresh = goods_shipment(vinyl, paid_hours_ago=3)
    late = goods_shipment(vinyl, paid_hours_ago=50)
    oldest = goods_shipment(vinyl, paid_hours_ago=80)
    sent = goods_shipment(vinyl, paid_hours_ago=90)
    shipment_mark_shipped(shipment_id=sent.pk, carrier="post", tracking_number="RR123456785DE", actor="staff:0")
    delivered = goods_shipment(vinyl, paid_hours_ago=100)
    Shipment.objects.filter(pk=delivered.pk).update(status=ShipmentStatus.DELIVERED, tracking_number="X123")
    refunded = goods_shipment(vinyl, paid_hours_ago=60, status=OrderStatus.REFUNDED)

    response = operator.get("/console/shipping")

    assert response.status_code == 200
    html = response.content.decode()
    to_ship = _section(html, "to-ship")
    assert re.findall(r'id="shipment-(\d+)"', to_ship) == [str(s.pk) for s in (oldest, late, fresh)]
    assert to_ship.count("badge-late") == 2  # waiting longer than 48 hours: the oldest and the late one
    assert "Waiting 3 d 8 h" in _text(response)
    assert "Paid 3 h ago" in _text(response)
    assert "1 × Night Sessions LP" in re.sub(r"<[^>]+>", "", to_ship)
    assert "Oranienstraße 12" in to_ship
    assert "10999 Berlin" in to_ship
    assert "Germany" in to_ship
    assert f"/console/shipping/{oldest.pk}/packing-slip" in to_ship
    assert f'action="/console/shipping/{oldest.pk}/ship"' in to_ship
    assert '<option value="post">Deutsche Post</option>' in to_ship
    on_the_way = _section(html, "on-the-way")
    assert re.findall(r'id="shipment-(\d+)"', on_the_way) == [str(sent.pk)]
    assert "Deutsche Post RR123456785DE" in on_the_way
    assert f'action="/console/shipping/{sent.pk}/deliver"' in on_the_way
    for gone in (delivered, refunded):
        assert gone.order.code not in html
    assert "3 parcels to send" in _text(response)


def test_marking_a_parcel_shipped_emails_the_tracking_link_and_is_audited(
    operator: Client, mailbox: MailHandler
) -> None:
    parcel = goods_shipment(PhysicalProductFactory(title="Night Sessions LP"), paid_hours_ago=5)

    landed, said = _post(
        operator, f"/console/shipping/{parcel.pk}/ship", {"carrier": "post", "tracking_number": " RR 1234  5678 5DE "}
    )

    assert landed == f"/console/shipping#shipment-{parcel.pk}"
    assert said == [f"{parcel.order.code}: shipped with Deutsche Post; the customer was emailed the tracking link."]
    parcel.refresh_from_db()
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == ("shipped", "post", "RR 1234 5678 5DE")
    entry = AuditEntry.objects.get(action="shipment.shipped")
    assert entry.actor.startswith("staff:")
    assert entry.data == {"carrier": "post", "tracking_number": "RR 1234 5678 5DE"}
    assert emails_send_due() == 1
    (message,) = mailbox.messages
    (plain,) = [part for part in message.walk() if part.get_content_type() == "text/plain"]
    body = plain.get_payload(decode=True).decode()
    assert "shipped with Deutsche Post" in body
    assert parcel.tracking_url in body
    assert OutgoingEmail.objects.get(key=f"order:{parcel.order.code}:shipped:{parcel.pk}").status == "sent"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"carrier": "pigeon", "tracking_number": "00340434161094042557"}, "carrier: unknown carrier"),
        ({"carrier": "dhl", "tracking_number": "x"}, "tracking number: 3–61 letters, digits, spaces or dashes"),
        ({"carrier": "dhl", "tracking_number": "<script>1</script>"}, "tracking number:"),
        ({}, "carrier: unknown carrier; tracking number:"),
    ],
)
def test_bad_shipping_input_is_explained_and_changes_nothing(operator: Client, data: dict[str, str], why: str) -> None:
    parcel = goods_shipment(PhysicalProductFactory(), paid_hours_ago=5)

    _, said = _post(operator, f"/console/shipping/{parcel.pk}/ship", data)

    (message,) = said
    assert message.startswith("Give a known carrier and the parcel's tracking number.")
    assert why in message
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == (ShipmentStatus.TO_SHIP, "")
    assert not AuditEntry.objects.filter(action="shipment.shipped").exists()
    assert not OutgoingEmail.objects.filter(key__contains=":shipped:").exists()


def test_a_parcel_shipped_meanwhile_or_an_order_refunded_meanwhile_is_said_plainly(operator: Client) -> None:
    vinyl = PhysicalProductFactory()
    parcel = goods_shipment(vinyl, paid_hours_ago=5)
    data = {"carrier": "dhl", "tracking_number": "00340434161094042557"}
    _post(operator, f"/console/shipping/{parcel.pk}/ship", data)

    _, said = _post(operator, f"/console/shipping/{parcel.pk}/ship", {**data, "tracking_number": "99999999"})

    assert said == [f"The shipment of {parcel.order.code} is already shipped."]
    parcel.refresh_from_db()
    assert parcel.tracking_number == "00340434161094042557"
    assert AuditEntry.objects.filter(action="shipment.shipped").count() == 1
    assert OutgoingEmail.objects.filter(key__contains=":shipped:").count() == 1

    refunded = goods_shipment(vinyl, paid_hours_ago=5)
    Order.objects.filter(pk=refunded.order_id).update(status=OrderStatus.REFUNDED)
    _, said = _post(operator, f"/console/shipping/{refunded.pk}/ship", data)
    assert said == [f"Order {refunded.order.code} is refunded: only a confirmed order ships."]
    refunded.refresh_from_db()
    assert refunded.status == ShipmentStatus.TO_SHIP


def test_a_parcel_is_delivered_once_and_only_after_it_left(operator: Client) -> None:
    parcel = goods_shipment(PhysicalProductFactory(), paid_hours_ago=5)

    _, said = _post(operator, f"/console/shipping/{parcel.pk}/deliver")
    assert said == [f"The shipment of {parcel.order.code} is to ship: only a shipped parcel can be delivered."]

    _post(operator, f"/console/shipping/{parcel.pk}/ship", {"carrier": "ups", "tracking_number": "1Z999AA10123456784"})
    landed, said = _post(operator, f"/console/shipping/{parcel.pk}/deliver")
    assert (landed, said) == (f"/console/shipping#shipment-{parcel.pk}", [f"{parcel.order.code}: delivered."])
    parcel.refresh_from_db()
    assert parcel.status == ShipmentStatus.DELIVERED
    assert parcel.delivered_at is not None
    assert AuditEntry.objects.get(action="shipment.delivered").actor.startswith("staff:")
    assert parcel.order.code not in operator.get("/console/shipping").content.decode()

    _, said = _post(operator, f"/console/shipping/{parcel.pk}/deliver")
    assert said == [f"The shipment of {parcel.order.code} is delivered: only a shipped parcel can be delivered."]
    assert AuditEntry.objects.filter(action="shipment.delivered").count() == 1


def test_the_packing_slip_is_the_parcel_s_pdf(operator: Client) -> None:
    parcel = goods_shipment(PhysicalProductFactory(title="Night Sessions LP"), paid_hours_ago=5)

    response = operator.get(f"/console/shipping/{parcel.pk}/packing-slip")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="packing-slip-{parcel.order.code}.pdf"'
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for part in (parcel.order.code, "Ada Lovelace", "Oranienstraße 12", "10999 Berlin", "Night Sessions LP"):
        assert part in text
    assert operator.get("/console/shipping/999999/packing-slip").status_code == 404


def test_the_desk_pages_through_many_parcels(operator: Client, monkeypatch: Any) -> None:
    monkeypatch.setattr(shipping_model, "PAGE_SIZE", 2)
    vinyl = PhysicalProductFactory(stock=20)
    parcels = [goods_shipment(vinyl, paid_hours_ago=100 - i) for i in range(5)]  # the first waited longest

    def shown(query: str) -> list[int]:
        html = _section(operator.get(f"/console/shipping{query}").content.decode(), "to-ship")
        return [int(pk) for pk in re.findall(r'id="shipment-(\d+)"', html)]

    assert shown("") == [parcels[0].pk, parcels[1].pk]
    assert shown("?page=2") == [parcels[2].pk, parcels[3].pk]
    assert shown("?page=3") == [parcels[4].pk]
    for query in ("?page=99", "?page=99999999999999999999999"):
        assert shown(query) == [parcels[4].pk]  # past the end: the last page
    for query in ("?page=abc", "?page=-1", "?page=²", "?page="):
        assert shown(query) == [parcels[0].pk, parcels[1].pk]
    assert "Page 2 of 3" in _text(operator.get("/console/shipping?page=2"))


@pytest.mark.parametrize("parcels", [1, 8])
def test_the_desk_takes_a_fixed_number_of_queries(
    operator: Client, django_assert_num_queries: Any, parcels: int
) -> None:
    vinyl = PhysicalProductFactory(stock=40)
    waiting = [goods_shipment(vinyl, paid_hours_ago=10 + i) for i in range(2 * parcels)]
    for parcel in waiting[parcels:]:
        shipment_mark_shipped(shipment_id=parcel.pk, carrier="dhl", tracking_number=f"0034{parcel.pk:08d}", actor="t")
    # The session, the user, the user's own and group permissions, the header's cart count (5); then the counts
    # and rows of both lists, and the goods of the orders shown.
    with django_assert_num_queries(5 + 5):
        response = operator.get("/console/shipping")
    assert response.status_code == 200
    assert response.content.decode().count('class="panel parcel"') == 2 * parcels
