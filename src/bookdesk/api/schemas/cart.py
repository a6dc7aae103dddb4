"""The cart as the API shows it. Money is `{"amount": int, "currency": "eur"}` (minor units)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from bookdesk.cart.services import CartView
from bookdesk.fields import ObjectId
from bookdesk.money import money


class MoneyOut(Schema):
    amount: int
    currency: str


class CartLineOut(Schema):
    id: int
    # course | service | product: which offer the line holds.
    kind: str
    title: str
    quantity: int
    unit_price: MoneyOut
    total: MoneyOut
    course_id: int | None
    service_id: int | None
    starts_at: datetime | None
    product_id: int | None
    license_id: int | None
    # Why the line cannot be bought now (sold out, slot taken…): a problem `code` and a sentence, or null.
    problem_code: str | None
    problem: str | None


class CartOut(Schema):
    items: list[CartLineOut]
    count: int
    subtotal: MoneyOut
    tax: MoneyOut
    shipping: MoneyOut
    total: MoneyOut
    prices_include_tax: bool
    can_check_out: bool

    @staticmethod
    def from_view(view: CartView) -> CartOut:
        b = view.breakdown

        def m(amount: int, currency: str = b.currency) -> MoneyOut:
            return MoneyOut(**money(amount, currency))

        return CartOut(
            items=[
                CartLineOut(
                    id=line.item.pk,
                    kind=line.item.kind,
                    title=line.title,
                    quantity=line.quantity,
                    unit_price=m(line.unit_amount, line.currency),
                    total=m(line.total, line.currency),
                    course_id=line.item.course_id,
                    service_id=line.item.service_id,
                    starts_at=line.item.starts_at,
                    product_id=line.item.product_id,
                    license_id=line.item.license_id,
                    problem_code=line.problem_code or None,
                    problem=line.problem or None,
                )
                for line in view.lines
            ],
            count=view.count,
            subtotal=m(b.subtotal),
            tax=m(b.tax),
            shipping=m(b.shipping),
            total=m(b.total),
            prices_include_tax=b.prices_include_tax,
            can_check_out=view.can_check_out,
        )


class CartItemIn(Schema):
    """One thing to add: a course seat, a studio slot (service + start), or a product (+ license tier)."""

    kind: Literal["course", "service", "product"]
    course_id: ObjectId | None = None
    service_id: ObjectId | None = None
    starts_at: datetime | None = None
    product_id: ObjectId | None = None
    license_id: ObjectId | None = None
    quantity: int = Field(default=1, ge=1, le=10)
