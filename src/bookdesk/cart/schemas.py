"""The cart as the API shows it. Money is `{"amount": int, "currency": "eur"}` (minor units)."""

from __future__ import annotations

from ninja import Schema


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


class CartOut(Schema):
    items: list[CartLineOut]
    subtotal: MoneyOut
    count: int
