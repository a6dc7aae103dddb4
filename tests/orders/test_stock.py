"""Goods are counted like seats: units held while the buyer pays, sold on payment, back when the hold lapses
or the order is cancelled; never more held and sold than the stock; `stock_left` and "Sold out" say so."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from bookdesk.catalog.models import Product
from bookdesk.errors import SoldOut
from bookdesk.orders.models import HoldStatus, Order, StockHold
from bookdesk.orders.services import ItemRequest, order_cancel_unpaid, order_expire, order_place
from bookdesk.payments.fulfilment import fulfil_checkout
from factories import PhysicalProductFactory, UserFactory, signed_in
from payments.conftest import pay
from problems import assert_problem

pytestmark = [pytest.mark.django_db]


def goods(product: Product, quantity: int = 1) -> list[ItemRequest]:
    return [ItemRequest(kind="product", product_id=product.pk, quantity=quantity)]


def stock_left(client: Client, product: Product) -> Any:
    return client.get(f"/api/products/{product.pk}").json()["stock_left"]


def test_units_are_held_and_come_back_when_the_hold_lapses_or_the_order_is_cancelled(client: Client) -> None:
    vinyl = PhysicalProductFactory(stock=5)
    first = order_place(user=UserFactory(), items=goods(vinyl, 3))
    assert stock_left(client, vinyl) == 2
    second = order_place(user=UserFactory(), items=goods(vinyl, 2))
    assert stock_left(client, vinyl) == 0
    with pytest.raises(SoldOut, match="sold out"):
        order_place(user=UserFactory(), items=goods(vinyl))

    order_cancel_unpaid(order=second, actor="user:1", reason="changed my mind")
    assert stock_left(client, vinyl) == 2
    order_expire(order=first, actor="worker", reason="hold lapsed")
    assert stock_left(client, vinyl) == 5
    assert set(StockHold.objects.values_list("status", flat=True)) == {HoldStatus.RELEASED}


def test_a_lapsed_hold_gives_its_units_to_the_next_buyer() -> None:
    vinyl = PhysicalProductFactory(stock=1)
    late = order_place(user=UserFactory(), items=goods(vinyl), now=timezone.now() - timedelta(hours=2))

    taker = order_place(user=UserFactory(), items=goods(vinyl))

    late.refresh_from_db()
    assert late.status == "expired"
    assert StockHold.objects.get(line__order=taker).status == HoldStatus.HELD


def test_one_order_cannot_take_more_than_the_stock_across_its_lines() -> None:
    vinyl = PhysicalProductFactory(stock=3)
    with pytest.raises(SoldOut, match="Only 1 of"):
        order_place(user=UserFactory(), items=goods(vinyl, 2) + goods(vinyl, 2))
    assert not Order.objects.exists()


@pytest.mark.usefixtures("stripe_sandbox")
def test_paid_units_stay_sold(stripe_client: Any) -> None:
    vinyl = PhysicalProductFactory(stock=2)
    client = signed_in(UserFactory())
    client.post(
        "/api/cart/items", {"kind": "product", "product_id": vinyl.pk, "quantity": 2}, content_type="application/json"
    )
    answer = client.post("/api/checkout").json()
    address = {"line1": "Main St 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}
    pay(stripe_client, answer["session_id"], shipping_details={"name": "Ada", "address": address})
    fulfil_checkout(answer["session_id"])

    hold = StockHold.objects.get()
    assert (hold.status, hold.quantity) == (HoldStatus.CONFIRMED, 2)
    body = client.get(f"/api/products/{vinyl.pk}").json()
    assert (body["stock_left"], body["sold_out"]) == (0, True)
    page = client.get(f"/products/{vinyl.pk}").content.decode()
    assert "Sold out" in page
    assert "Add to cart" not in page


def test_asking_for_more_than_is_left_is_a_clear_409_and_adds_nothing() -> None:
    vinyl = PhysicalProductFactory(stock=3)
    client = signed_in(UserFactory())

    response = client.post(
        "/api/cart/items", {"kind": "product", "product_id": vinyl.pk, "quantity": 4}, content_type="application/json"
    )

    body = assert_problem(response, status=409, code="sold_out")
    assert "Only 3" in body["detail"]
    assert client.get("/api/cart").json()["count"] == 0
    assert_problem(
        client.post(
            "/api/cart/items",
            {"kind": "product", "product_id": vinyl.pk, "quantity": -1},
            content_type="application/json",
        ),
        status=422,
        code="invalid",
    )


def test_stock_and_weight_are_required_of_goods_and_never_negative() -> None:
    with pytest.raises(ValidationError) as error:
        Product(title="Tee", slug="tee", kind="physical", price_amount=2000).full_clean()
    assert {"stock", "weight_grams"} <= set(error.value.message_dict)
    for fields in (
        {"stock": None, "weight_grams": 100},
        {"stock": -1, "weight_grams": 100},
        {"stock": 1, "weight_grams": -5},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Product.objects.create(title="Tee", slug="tee", kind="physical", price_amount=2000, **fields)
    assert Product.objects.count() == 0
