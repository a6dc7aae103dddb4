"""Two customers, Ada (the victim) and Eve (the attacker), and what Ada owns: a confirmed order with a
course seat and a licence, a pending order, a cart item. Every attack runs as Eve (or as nobody) against
Ada's things, and each test checks the refusal and that nothing of Ada's changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from bookdesk.cart.models import Cart, CartItem
from bookdesk.cart.services import cart_add
from bookdesk.catalog.models import Course, License, Product
from bookdesk.orders.models import Grant, Order
from bookdesk.orders.services import ItemRequest
from factories import BeatFactory, CourseFactory, confirm, login_token, place, signed_in, verified_customer


@dataclass
class Victim:
    user: Any
    course: Course
    beat: Product
    confirmed: Order
    pending: Order
    grant: Grant
    cart_item: CartItem

    def snapshot(self) -> list[Any]:
        """What an attack must not change: Ada's orders, holds and cart, read afresh."""
        orders = list(Order.objects.filter(user=self.user).order_by("pk").values_list("code", "status", "total_amount"))
        grants = list(Grant.objects.filter(user=self.user).values_list("pk", "status", "download_count"))
        cart = list(CartItem.objects.filter(cart__user=self.user).values_list("pk", "kind", "quantity"))
        return [orders, grants, cart]


@pytest.fixture
def ada(db: None) -> Victim:
    user = verified_customer("ada@example.com")
    course = CourseFactory(capacity=5)
    beat = BeatFactory()
    basic = License.objects.get(product=beat, tier=License.Tier.BASIC)
    confirmed = confirm(
        place(
            user,
            ItemRequest(kind="course", course_id=course.pk),
            ItemRequest(kind="product", product_id=beat.pk, license_id=basic.pk),
        )
    )
    pending = place(user, ItemRequest(kind="course", course_id=CourseFactory().pk))
    cart = Cart.objects.create(user=user)
    item = cart_add(cart=cart, user=user, request=ItemRequest(kind="course", course_id=CourseFactory().pk))
    return Victim(
        user=user,
        course=course,
        beat=beat,
        confirmed=confirmed,
        pending=pending,
        grant=Grant.objects.get(line__order=confirmed),
        cart_item=item,
    )


@pytest.fixture
def eve(db: None) -> Client:
    """The attacker, signed in by session cookie."""
    return signed_in(verified_customer("eve@example.com"))


@pytest.fixture
def eve_token(db: None) -> str:
    """The attacker's API session token."""
    return login_token("eve@example.com")
