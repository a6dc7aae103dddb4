"""The cart as the API shows it. Money is `{"amount": int, "currency": "eur"}` (minor units)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Schema

from bookdesk.cart.services import CartView
from bookdesk.fields import IsoDateTime, ObjectId
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


class CourseItemIn(Schema):
    """One seat of a course (a customer books one seat per course)."""

    kind: Literal["course"]
    course_id: ObjectId
    quantity: Literal[1] = 1


class ServiceItemIn(Schema):
    """A studio slot: the service and the slot's start, with its UTC offset (see the service's slots)."""

    kind: Literal["service"]
    service_id: ObjectId
    starts_at: IsoDateTime
    quantity: Literal[1] = 1


class ProductItemIn(Schema):
    """A product: a licence tier of a beat (bought once), or physical goods (a quantity)."""

    kind: Literal["product"]
    product_id: ObjectId
    license_id: ObjectId | None = None
    quantity: int = Field(default=1, ge=1, le=10)


# One thing to add, told apart by `kind` (the document says which fields each kind needs).
CartItemIn = Annotated[CourseItemIn | ServiceItemIn | ProductItemIn, Field(discriminator="kind")]
