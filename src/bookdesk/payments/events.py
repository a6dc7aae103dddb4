"""What payments tell the layers above them: orders confirmed, a payment failed, money refunded.

Each is sent inside the transaction that made the change, so what a receiver writes (notifications
queues the customer's email in its outbox: `notifications.receivers`) commits with the change or not
at all. Sent with `send`, never `send_robust`: a receiver that fails fails the change, nothing is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.dispatch import Signal

from bookdesk.orders.models import Order, OrderLine


class RefundCause(StrEnum):
    CANCELLATION = "cancellation"  # the customer cancelled, or an operator refunded
    LATE_PAYMENT = "late_payment"  # paid after the hold lapsed and what it held was gone: refunded in full
    DUPLICATE_PAYMENT = "duplicate_payment"  # a second payment of an order already paid


# Arguments: confirmed = [(order, its lines with their holds), …].
orders_confirmed = Signal()
# Arguments: order, retry_url.
payment_failed = Signal()


@dataclass(frozen=True)
class RefundedLine:
    """A line a refund gives back: its amount with its tax (minor units, the order's currency)."""

    line_id: int
    description: str
    kind: str
    amount: int
    tax: int


# Arguments: order, amount, refund_id, cause (RefundCause), lines (the RefundedLine it is for; empty when
# the refund is of the order as a whole: an operator's amount, a late or duplicate payment), shipping.
refund_issued = Signal()


def tell_orders_confirmed(confirmed: Sequence[tuple[Order, Sequence[OrderLine]]]) -> None:
    orders_confirmed.send(sender=Order, confirmed=confirmed)


def tell_payment_failed(order: Order, *, retry_url: str) -> None:
    payment_failed.send(sender=Order, order=order, retry_url=retry_url)


def tell_refund_issued(
    order: Order,
    *,
    amount: int,
    refund_id: str,
    cause: RefundCause,
    lines: Sequence[RefundedLine] = (),
    shipping: int = 0,
) -> None:
    refund_issued.send(
        sender=Order,
        order=order,
        amount=amount,
        refund_id=refund_id,
        cause=cause,
        lines=list(lines),
        shipping=shipping,
    )
