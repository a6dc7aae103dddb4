"""Pricing: one pure function from priced lines to subtotal, tax, shipping and total (minor units)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PricedLine:
    description: str
    unit_amount: int
    quantity: int
    ships: bool = False
    weight_grams: int = 0  # of the whole line (goods only)

    @property
    def total(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class Breakdown:
    currency: str
    subtotal: int
    tax: int
    shipping: int
    total: int
    prices_include_tax: bool
    tax_rate_basis_points: int


def _divide_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding half away from zero, for non-negative numbers (no floats)."""
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if remainder * 2 >= denominator else 0)


def price(
    lines: Sequence[PricedLine],
    *,
    currency: str,
    tax_rate_basis_points: int,
    prices_include_tax: bool,
    shipping_flat_amount: int,
) -> Breakdown:
    """Price a cart. Amounts are integer minor units, so zero-decimal currencies need nothing special.

    Tax is computed once on the subtotal (not per line) and rounded half up. With inclusive prices the
    tax is the part of the subtotal that is tax; with exclusive prices it is added on top. Shipping is a
    fee when any line ships (the cart's shipping quote,
    `orders.shipping`), and is not taxed.
    """
    if tax_rate_basis_points < 0 or shipping_flat_amount < 0:
        raise ValueError("tax rate and shipping must not be negative")
    for line in lines:
        if line.unit_amount < 0 or line.quantity < 1:
            raise ValueError(f"invalid line: {line}")
    subtotal = sum(line.total for line in lines)
    if prices_include_tax:
        net = _divide_half_up(subtotal * 10_000, 10_000 + tax_rate_basis_points)
        tax = subtotal - net
        goods_total = subtotal
    else:
        tax = _divide_half_up(subtotal * tax_rate_basis_points, 10_000)
        goods_total = subtotal + tax
    shipping = shipping_flat_amount if any(line.ships for line in lines) else 0
    return Breakdown(
        currency=currency.lower(),
        subtotal=subtotal,
        tax=tax,
        shipping=shipping,
        total=goods_total + shipping,
        prices_include_tax=prices_include_tax,
        tax_rate_basis_points=tax_rate_basis_points,
    )
