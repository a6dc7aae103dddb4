"""Goods through Checkout: the session collects an address in the allowed countries and offers shipping options
priced by weight and zone; the buyer's choice settles the order's total, which always equals what Stripe charged,
and the address lands on the order's Shipment."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bookdesk.catalog.models import ShippingRate, ShippingZone
from bookdesk.orders.models import Order, OrderStatus, Shipment, StockHold
from bookdesk.payments.fulfilment import Outcome, fulfil_checkout
from bookdesk.payments.models import Payment
from factories import CourseFactory, PhysicalProductFactory, UserFactory, signed_in
from payments.conftest import deliver, pay, run_inbox, session_events
from problems import assert_problem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_sandbox")]

BERLIN = {"line1": "Oranienstraße 12", "line2": "Hinterhaus", "postal_code": "10999", "city": "Berlin", "country": "DE"}
PARIS = {"line1": "12 rue de Rivoli", "postal_code": "75004", "city": "Paris", "country": "FR"}


@pytest.fixture
def client() -> Client:
    return signed_in(UserFactory(email="ada@example.com"))


def check_out(client: Client, *items: dict[str, Any]) -> dict[str, Any]:
    for item in items:
        response = client.post("/api/cart/items", item, content_type="application/json")
        assert response.status_code == 201, response.content
    response = client.post("/api/checkout")
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def vinyl_item(product: Any, quantity: int = 1) -> dict[str, Any]:
    return {"kind": "product", "product_id": product.pk, "quantity": quantity}


def test_a_cart_with_goods_opens_a_session_with_address_collection_and_priced_options(
    client: Client, stripe_client: stripe.StripeClient
) -> None:
    vinyl = PhysicalProductFactory(price_amount=2800, weight_grams=320)
    answer = check_out(client, vinyl_item(vinyl, 2))

    session = stripe_client.v1.checkout.sessions.retrieve(answer["session_id"], params={"expand": ["line_items"]})
    countries = session.shipping_address_collection.allowed_countries  # type: ignore[union-attr]
    assert {"DE", "FR", "US"} <= set(countries)
    rates = [stripe_client.v1.shipping_rates.retrieve(o.shipping_rate) for o in session.shipping_options]  # type: ignore[arg-type]
    # 640 g: each seeded zone's first band (≤ 1 kg); no "Shipping" line item any more.
    assert [(r.display_name, r.fixed_amount.amount) for r in rates] == [  # type: ignore[union-attr]
        ("Standard — Germany", 490),
        ("Standard — European Union", 990),
        ("Standard — Worldwide", 1490),
    ]
    assert [item.description for item in session.line_items.data] == [vinyl.title]  # type: ignore[union-attr]
    order = Order.objects.get(code=answer["order"]["code"])
    # Priced with the cheapest option until the buyer chooses; Stripe starts on the first option too.
    assert (order.shipping_amount, order.total_amount) == (490, 5600 + 490)
    assert session.amount_total == order.total_amount
    assert StockHold.objects.get(line__order=order).quantity == 2


def test_paying_with_another_zone_settles_the_total_and_stores_the_address(
    client: Client, stripe_client: stripe.StripeClient
) -> None:
    vinyl = PhysicalProductFactory(price_amount=2800)
    answer = check_out(client, vinyl_item(vinyl))
    session = stripe_client.v1.checkout.sessions.retrieve(answer["session_id"])
    eu_rate = session.shipping_options[1].shipping_rate

    paid = pay(
        stripe_client, answer["session_id"], shipping_details={"name": "Marie Curie", "address": PARIS},
        shipping_rate=eu_rate,
    )  # fmt: skip
    assert paid.amount_total == 2800 + 990
    for event in session_events(stripe_client, answer["session_id"]):
        assert deliver(event).status_code == 200
    run_inbox()  # the worker's batch path

    order = Order.objects.get(code=answer["order"]["code"])
    assert order.status == OrderStatus.CONFIRMED
    assert (order.shipping_amount, order.total_amount) == (990, paid.amount_total)
    assert Payment.objects.get(order=order).amount == paid.amount_total
    shipment = Shipment.objects.get(order=order)
    assert (shipment.name, shipment.line1, shipment.postal_code, shipment.city, shipment.country) == (
        "Marie Curie", "12 rue de Rivoli", "75004", "Paris", "FR",
    )  # fmt: skip
    assert (shipment.rate_name, shipment.rate_amount, shipment.status) == ("Standard — European Union", 990, "to_ship")
    assert order.audit_entries.filter(action="shipment.recorded").exists()

    body = client.get(f"/api/orders/{order.code}").json()
    assert body["shipping"]["name"] == "Marie Curie"
    assert body["shipping"]["address"]["city"] == "Paris"
    assert body["shipping"]["rate"] == {
        "name": "Standard — European Union",
        "amount": {"amount": 990, "currency": "eur"},
    }
    assert (body["shipping"]["status"], body["shipping"]["tracking_url"]) == ("to_ship", "")
    assert body["shipping_amount"] == {"amount": 990, "currency": "eur"}
    assert body["total"]["amount"] == paid.amount_total


def test_an_address_outside_the_chosen_zone_puts_the_order_under_review(
    client: Client, stripe_client: stripe.StripeClient
) -> None:
    vinyl = PhysicalProductFactory(price_amount=2800)
    answer = check_out(client, vinyl_item(vinyl))
    # The German rate (the first, cheapest) for a parcel to Paris: Stripe cannot tell, we can.
    pay(stripe_client, answer["session_id"], shipping_details={"name": "Marie Curie", "address": PARIS})

    assert fulfil_checkout(answer["session_id"]) == Outcome.REVIEW
    order = Order.objects.get(code=answer["order"]["code"])
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert "ships to FR with the Germany option" in order.review_reason
    assert not Shipment.objects.filter(order=order).exists()


def test_free_shipping_over_the_zone_threshold(client: Client, stripe_client: stripe.StripeClient) -> None:
    vinyl = PhysicalProductFactory(price_amount=3500)
    answer = check_out(client, vinyl_item(vinyl, 2))  # €70 of goods: Germany ships free from €60
    session = stripe_client.v1.checkout.sessions.retrieve(answer["session_id"])
    assert [o.shipping_amount for o in session.shipping_options] == [0, 990, 1490]
    assert Order.objects.get(code=answer["order"]["code"]).total_amount == 7000 == session.amount_total

    pay(stripe_client, answer["session_id"], shipping_details={"name": "Ada Lovelace", "address": BERLIN})
    assert fulfil_checkout(answer["session_id"]) == Outcome.CONFIRMED
    shipment = Shipment.objects.get(order__code=answer["order"]["code"])
    assert (shipment.rate_name, shipment.rate_amount, shipment.line2) == (
        "Free standard shipping — Germany",
        0,
        "Hinterhaus",
    )


def test_a_cart_without_goods_collects_no_address(client: Client, stripe_client: stripe.StripeClient) -> None:
    answer = check_out(client, {"kind": "course", "course_id": CourseFactory().pk})
    session = stripe_client.v1.checkout.sessions.retrieve(answer["session_id"])
    assert session.shipping_address_collection is None
    assert session.shipping_options == []
    assert Payment.objects.get(session_id=answer["session_id"]).shipping_quote is None


def test_goods_too_heavy_for_every_rate_cannot_be_checked_out(client: Client) -> None:
    anvil = PhysicalProductFactory(price_amount=9900, weight_grams=40_000)
    client.post("/api/cart/items", vinyl_item(anvil), content_type="application/json")

    assert_problem(client.post("/api/checkout"), status=409, code="not_shippable")
    assert not Order.objects.exists()
    assert not StockHold.objects.exists()


@hsettings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    quantity=st.integers(1, 4),
    weight=st.sampled_from([100, 320, 900, 2600]),
    price=st.sampled_from([990, 1999, 2800, 4500]),
    free_over=st.sampled_from([None, 3000, 8000]),
    choice=st.integers(0, 2),
)
def test_the_order_total_always_equals_what_stripe_charged(
    stripe_client: stripe.StripeClient, quantity: int, weight: int, price: int, free_over: int | None, choice: int
) -> None:
    ShippingZone.objects.filter(name="Germany").update(free_shipping_over=free_over)
    vinyl = PhysicalProductFactory(price_amount=price, weight_grams=weight)
    client = signed_in(UserFactory())
    answer = check_out(client, vinyl_item(vinyl, quantity))
    session = stripe_client.v1.checkout.sessions.retrieve(answer["session_id"])
    # One option per zone in order (Germany, EU, Worldwide); a parcel over 5 kg has no Worldwide band.
    choice = min(choice, len(session.shipping_options) - 1)
    option = session.shipping_options[choice]
    address = [BERLIN, PARIS, {**PARIS, "country": "GB", "city": "London", "postal_code": "SW1A 1AA"}][choice]

    paid = pay(
        stripe_client, answer["session_id"], shipping_details={"name": "Buyer", "address": address},
        shipping_rate=option.shipping_rate,
    )  # fmt: skip

    assert fulfil_checkout(answer["session_id"]) == Outcome.CONFIRMED
    order = Order.objects.get(code=answer["order"]["code"])
    assert order.total_amount == paid.amount_total == price * quantity + option.shipping_amount
    assert order.shipping_amount == paid.shipping_cost.amount_total  # type: ignore[union-attr]
    assert ShippingRate.objects.exists()
