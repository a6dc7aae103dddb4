"""The refund policy's arithmetic: a line's tax share, and what the lines brought in, sum to the order exactly."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bookdesk.orders.pricing import PricedLine, price
from bookdesk.payments.policy import LineFacts, OrderFacts, brought_in, tax_share

PLACED = datetime(2026, 1, 1, tzinfo=UTC)


def facts_of_prices(totals: list[int]) -> list[LineFacts]:
    lines, before = [], 0
    for number, total in enumerate(totals, start=1):
        lines.append(LineFacts(number, "course", total, "active", False, None, None, "confirmed", before))
        before += total
    return lines


@given(
    totals=st.lists(st.integers(min_value=0, max_value=10_000_000), min_size=1, max_size=12),
    rate=st.integers(min_value=0, max_value=2_500),
    inclusive=st.booleans(),
    shipping=st.integers(min_value=0, max_value=2_000),
)
def test_shares_sum_to_the_order_and_each_is_within_a_unit_of_its_part(
    totals: list[int], rate: int, inclusive: bool, shipping: int
) -> None:
    priced = price(
        [PricedLine(f"line {n}", total, 1, ships=n == 0) for n, total in enumerate(totals)],
        currency="eur",
        tax_rate_basis_points=rate,
        prices_include_tax=inclusive,
        shipping_flat_amount=shipping,
    )
    order = OrderFacts("confirmed", priced.subtotal, priced.tax, priced.shipping, priced.total, PLACED)
    lines = facts_of_prices(totals)

    shares = [tax_share(order, line) for line in lines]
    amounts = [brought_in(order, line)[0] for line in lines]

    assert sum(shares) == order.tax
    assert sum(amounts) == order.total - order.shipping
    for line, share in zip(lines, shares, strict=True):
        assert share >= 0
        if order.subtotal:
            exact_times_subtotal = order.tax * line.total
            assert abs(share * order.subtotal - exact_times_subtotal) < order.subtotal  # within one minor unit
