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
        tax_rate_basis_points=st.one_of(st.none(), st.integers(min_value=0, max_value=3000)),
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
        # Shipping is taxed too (at the default rate), so its tax sits inside the shipping fee.
        assert breakdown.tax <= breakdown.subtotal + breakdown.shipping
    else:
        assert breakdown.total == breakdown.subtotal + breakdown.tax + breakdown.shipping
    assert breakdown.shipping == (shipping if any(line.ships for line in lines) else 0)
    assert all(isinstance(v, int) for v in (breakdown.subtotal, breakdown.tax, breakdown.shipping, breakdown.total))
    # The tax is the sum of each line's (rounded per line) and shipping's: an invoice's lines add up exactly.
    assert breakdown.tax == sum(t.tax for t in breakdown.line_taxes) + breakdown.shipping_tax.tax
    assert len(breakdown.line_taxes) == len(lines)
    for line, line_tax in zip(lines, breakdown.line_taxes, strict=True):
        expected_rate = rate if line.tax_rate_basis_points is None else line.tax_rate_basis_points
        assert line_tax.rate_basis_points == expected_rate
        if inclusive:
            assert line_tax.net + line_tax.tax == line.total
        else:
            assert line_tax.net == line.total


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


def test_each_line_is_taxed_at_its_own_rate_and_rounded_per_line():
    lines = [PricedLine("Course", 10_000, 1, tax_rate_basis_points=700), PricedLine("Beat", 999, 1)]
    inclusive = price(
        lines, currency="eur", tax_rate_basis_points=1900, prices_include_tax=True, shipping_flat_amount=0
    )
    # 10000 / 1.07 = 9345.79 → net 9346, tax 654; 999 / 1.19 = 839.496 → net 839, tax 160.
    assert [(t.rate_basis_points, t.net, t.tax) for t in inclusive.line_taxes] == [(700, 9346, 654), (1900, 839, 160)]
    assert (inclusive.tax, inclusive.total) == (814, 10_999)
    exclusive = price(
        lines, currency="eur", tax_rate_basis_points=1900, prices_include_tax=False, shipping_flat_amount=0
    )
    # 700 on 10000 = 700; 19 % of 999 = 189.81 → 190.
    assert [t.tax for t in exclusive.line_taxes] == [700, 190]
    assert (exclusive.tax, exclusive.total) == (890, 11_889)


def test_shipping_is_taxed_at_the_default_rate():
    lines = [PricedLine("LP", 2_500, 1, ships=True, tax_rate_basis_points=700)]
    default = {"currency": "eur", "tax_rate_basis_points": 1900, "shipping_flat_amount": 490}
    inclusive = price(lines, prices_include_tax=True, **default)
    # 490 / 1.19 = 411.76 → net 412, tax 78; 2500 / 1.07 = 2336.45 → net 2336, tax 164.
    assert (inclusive.shipping_tax.rate_basis_points, inclusive.shipping_tax.tax) == (1900, 78)
    assert (inclusive.tax, inclusive.total) == (164 + 78, 2_990)
    exclusive = price(lines, prices_include_tax=False, **default)
    assert (exclusive.shipping_tax.tax, exclusive.tax, exclusive.total) == (93, 175 + 93, 2_500 + 490 + 175 + 93)


def test_the_breakdown_names_the_rates_it_taxed_at():
    lines = [PricedLine("Course", 1000, 1, tax_rate_basis_points=700), PricedLine("LP", 2000, 1, ships=True)]
    kwargs = {"currency": "eur", "tax_rate_basis_points": 1900, "prices_include_tax": True}
    assert price(lines, shipping_flat_amount=490, **kwargs).tax_rates == (700, 1900)
    assert price(lines[:1], shipping_flat_amount=490, **kwargs).tax_rates == (700,)
    assert price([], shipping_flat_amount=490, **kwargs).tax_rates == (1900,)
