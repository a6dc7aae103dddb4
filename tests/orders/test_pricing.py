"""Pricing is pure integer arithmetic: properties hold for every currency, zero-decimal included."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bookdesk.orders.pricing import PricedLine, price

lines_strategy = st.lists(
    st.builds(
        PricedLine,
        description=st.just("item"),
        unit_amount=st.integers(min_value=0, max_value=10_000_000),
        quantity=st.integers(min_value=1, max_value=20),
        ships=st.booleans(),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    lines=lines_strategy,
    currency=st.sampled_from(["eur", "usd", "jpy", "krw"]),
    rate=st.integers(min_value=0, max_value=3000),
    inclusive=st.booleans(),
    shipping=st.integers(min_value=0, max_value=5000),
)
def test_totals_add_up_and_are_never_negative(lines, currency, rate, inclusive, shipping):
    breakdown = price(
        lines,
        currency=currency,
        tax_rate_basis_points=rate,
        prices_include_tax=inclusive,
        shipping_flat_amount=shipping,
    )
    assert breakdown.subtotal == sum(line.unit_amount * line.quantity for line in lines)
    assert min(breakdown.subtotal, breakdown.tax, breakdown.shipping, breakdown.total) >= 0
    if inclusive:
        assert breakdown.total == breakdown.subtotal + breakdown.shipping
        assert breakdown.tax <= breakdown.subtotal
    else:
        assert breakdown.total == breakdown.subtotal + breakdown.tax + breakdown.shipping
    assert breakdown.shipping == (shipping if any(line.ships for line in lines) else 0)
    assert all(isinstance(v, int) for v in (breakdown.subtotal, breakdown.tax, breakdown.shipping, breakdown.total))


@settings(max_examples=200, deadline=None)
@given(subtotal=st.integers(min_value=0, max_value=10**9), rate=st.integers(min_value=0, max_value=3000))
def test_tax_is_the_nearest_minor_unit(subtotal, rate):
    exclusive = price(
        [PricedLine("x", subtotal, 1)],
        currency="eur",
        tax_rate_basis_points=rate,
        prices_include_tax=False,
        shipping_flat_amount=0,
    )
    # |tax - exact| <= 1/2 minor unit, computed exactly with integers.
    assert abs(exclusive.tax * 10_000 - subtotal * rate) * 2 <= 10_000


def test_inclusive_tax_of_a_zero_decimal_currency():
    breakdown = price(
        [PricedLine("Beat", 11_900, 1)],
        currency="JPY",
        tax_rate_basis_points=1900,
        prices_include_tax=True,
        shipping_flat_amount=0,
    )
    assert (breakdown.currency, breakdown.subtotal, breakdown.tax, breakdown.total) == ("jpy", 11_900, 1_900, 11_900)


def test_exclusive_tax_rounds_half_up():
    breakdown = price(
        [PricedLine("Lesson", 250, 1)], currency="eur", tax_rate_basis_points=1000, prices_include_tax=False,
        shipping_flat_amount=0,
    )  # fmt: skip
    assert (breakdown.tax, breakdown.total) == (25, 275)
    odd = price(
        [PricedLine("x", 5, 1)], currency="eur", tax_rate_basis_points=1000, prices_include_tax=False,
        shipping_flat_amount=0,
    )  # fmt: skip
    assert odd.tax == 1  # 0.5 rounds up


def test_shipping_only_when_something_ships():
    digital = [PricedLine("Beat", 2_999, 1)]
    physical = [*digital, PricedLine("LP", 2_500, 2, ships=True)]
    kwargs = {"currency": "eur", "tax_rate_basis_points": 0, "prices_include_tax": True, "shipping_flat_amount": 490}
    assert price(digital, **kwargs).shipping == 0
    assert price(physical, **kwargs).total == 2_999 + 5_000 + 490


@pytest.mark.parametrize("bad", [PricedLine("x", -1, 1), PricedLine("x", 100, 0)])
def test_invalid_lines_are_refused(bad):
    with pytest.raises(ValueError, match="invalid line"):
        price([bad], currency="eur", tax_rate_basis_points=0, prices_include_tax=True, shipping_flat_amount=0)
