"""Pricing: one pure function from priced lines to subtotal, tax, shipping and total (minor units)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BASIS = 10_000  # basis points in a whole: 1900 = 19 %


@dataclass(frozen=True)
class PricedLine:
    description: str
    unit_amount: int
    quantity: int
    ships: bool = False
    weight_grams: int = 0  # of the whole line (goods only)
    # The line's own tax rate in basis points; None: the default rate (settings.TAX_RATE_DEFAULT).
    tax_rate_basis_points: int | None = None

    @property
    def total(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class LineTax:
    """The tax of one priced line (or of shipping): its rate and amount, and what it is net of tax."""

    rate_basis_points: int
    tax: int
    net: int


@dataclass(frozen=True)
class Breakdown:
    currency: str
    subtotal: int
    tax: int
    shipping: int
    total: int
    prices_include_tax: bool
    tax_rate_basis_points: int  # the default rate, also shipping's
    line_taxes: tuple[LineTax, ...] = ()  # one per line, in the lines' order
    shipping_tax: LineTax = LineTax(0, 0, 0)

    @property
    def tax_rates(self) -> tuple[int, ...]:
        """The rates the tax is at, lowest first (the default alone for an empty cart)."""
        rates = {line.rate_basis_points for line in self.line_taxes}
        if self.shipping:
            rates.add(self.shipping_tax.rate_basis_points)
        return tuple(sorted(rates)) or (self.tax_rate_basis_points,)


def _divide_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding half away from zero, for non-negative numbers (no floats)."""
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if remainder * 2 >= denominator else 0)


def tax_of(amount: int, *, rate_basis_points: int, prices_include_tax: bool) -> LineTax:
    """The tax in `amount` (inclusive prices: extracted from it) or on it (exclusive: added), rounded half up."""
    if prices_include_tax:
        net = _divide_half_up(amount * BASIS, BASIS + rate_basis_points)
        return LineTax(rate_basis_points, amount - net, net)
    return LineTax(rate_basis_points, _divide_half_up(amount * rate_basis_points, BASIS), amount)


def shipping_charged(amount: int, *, tax_rate_basis_points: int, prices_include_tax: bool) -> int:
    """What the buyer pays for shipping of `amount`: the amount itself, or with its tax on top when prices
    exclude tax (a Checkout shipping option carries its tax, the session's tax line only the lines')."""
    if prices_include_tax:
        return amount
    return amount + tax_of(amount, rate_basis_points=tax_rate_basis_points, prices_include_tax=False).tax


def price(
    lines: Sequence[PricedLine],
    *,
    currency: str,
    tax_rate_basis_points: int,
    prices_include_tax: bool,
    shipping_flat_amount: int,
) -> Breakdown:
    """Price a cart. Amounts are integer minor units, so zero-decimal currencies need nothing special.

    Tax is computed per line at the line's own rate (or `tax_rate_basis_points`, the default) and rounded
    half up per line, so an invoice's lines add up to the order's tax exactly. With inclusive prices the tax
    is the part of each line that is tax; with exclusive prices it is added on top. Shipping is a fee when
    any line ships (the cart's shipping quote or the option chosen, `orders.shipping`), taxed at the default
    rate the same way (its fee includes tax when prices do).
    """
    if tax_rate_basis_points < 0 or shipping_flat_amount < 0:
        raise ValueError("tax rate and shipping must not be negative")
    for line in lines:
        if line.unit_amount < 0 or line.quantity < 1 or (line.tax_rate_basis_points or 0) < 0:
            raise ValueError(f"invalid line: {line}")
    subtotal = sum(line.total for line in lines)
    line_taxes = tuple(
        tax_of(
            line.total,
            rate_basis_points=(
                tax_rate_basis_points if line.tax_rate_basis_points is None else line.tax_rate_basis_points
            ),
            prices_include_tax=prices_include_tax,
        )
        for line in lines
    )
    shipping = shipping_flat_amount if any(line.ships for line in lines) else 0
    shipping_tax = tax_of(shipping, rate_basis_points=tax_rate_basis_points, prices_include_tax=prices_include_tax)
    tax = sum(line.tax for line in line_taxes) + shipping_tax.tax
    total = subtotal + shipping + (0 if prices_include_tax else tax)
    return Breakdown(
        currency=currency.lower(),
        subtotal=subtotal,
        tax=tax,
        shipping=shipping,
        total=total,
        prices_include_tax=prices_include_tax,
        tax_rate_basis_points=tax_rate_basis_points,
        line_taxes=line_taxes,
        shipping_tax=shipping_tax,
    )
