"""The refund policy's arithmetic: what the lines and the shipping brought in sums to the order exactly."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bookdesk.orders.pricing import Breakdown, PricedLine, price
from bookdesk.payments.policy import LineFacts, OrderFacts, brought_in, shipping_charged

PLACED = datetime(2026, 1, 1, tzinfo=UTC)


def facts_of_priced(totals: list[int], priced: Breakdown) -> list[LineFacts]:
    return [
        LineFacts(number, "course", total, "active", number == 1, None, None, "confirmed", line_tax.tax)
        for number, (total, line_tax) in enumerate(zip(totals, priced.line_taxes, strict=True), start=1)
    ]


@given(
    totals=st.lists(st.integers(min_value=0, max_value=10_000_000), min_size=1, max_size=12),
    rate=st.integers(min_value=0, max_value=2_500),
    inclusive=st.booleans(),
    shipping=st.integers(min_value=0, max_value=2_000),
)
def test_lines_and_shipping_bring_in_the_order_total_with_their_own_tax(
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
    lines = facts_of_priced(totals, priced)

    brought = [brought_in(order, line) for line in lines]

    # Each line gives back its own tax as priced; with shipping's, that is the order's tax.
    assert [tax for _, tax in brought] == [line_tax.tax for line_tax in priced.line_taxes]
    assert sum(tax for _, tax in brought) + priced.shipping_tax.tax == order.tax
    # Lines and shipping together are the total charged: a full cancellation refunds it to the cent.
    assert sum(amount for amount, _ in brought) + shipping_charged(order, lines) == order.total
    expected_shipping = priced.shipping + (0 if inclusive else priced.shipping_tax.tax)
    assert shipping_charged(order, lines) == expected_shipping
