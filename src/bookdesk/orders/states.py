"""The order state machine as a table (DESIGN §4), and the sets of states the code decides by. Anything not
listed is refused, never applied."""

from __future__ import annotations

from bookdesk.orders.models import OrderStatus as S

ALLOWED: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PROCESSING, S.PAID, S.FAILED, S.EXPIRED, S.CANCELLED, S.NEEDS_REVIEW}),
    S.PROCESSING: frozenset({S.PAID, S.FAILED, S.NEEDS_REVIEW}),
    S.PAID: frozenset({S.CONFIRMED, S.REFUNDED, S.NEEDS_REVIEW}),
    S.CONFIRMED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED, S.NEEDS_REVIEW}),
    S.PARTIALLY_REFUNDED: frozenset({S.REFUNDED, S.NEEDS_REVIEW}),
    # A retry creates a new payment attempt: failed → pending.
    S.FAILED: frozenset({S.PENDING, S.PAID, S.EXPIRED, S.CANCELLED}),
    # Money can still arrive after a hold lapsed or an order was cancelled (a late webhook): it is
    # recorded as paid, then confirmed if capacity is still there, otherwise refunded (never lost).
    S.EXPIRED: frozenset({S.PENDING, S.PAID, S.PROCESSING, S.NEEDS_REVIEW}),
    S.CANCELLED: frozenset({S.PAID, S.PROCESSING, S.NEEDS_REVIEW}),
    S.NEEDS_REVIEW: frozenset({S.CONFIRMED, S.REFUNDED, S.PARTIALLY_REFUNDED, S.CANCELLED}),
    S.REFUNDED: frozenset(),
}

# Orders whose holds count against capacity.
HOLDING = frozenset({S.PENDING, S.PROCESSING, S.PAID, S.CONFIRMED, S.PARTIALLY_REFUNDED, S.NEEDS_REVIEW})
# Orders the customer can still pay.
PAYABLE = frozenset({S.PENDING, S.FAILED})
# Orders whose money has arrived, or is on its way (the payment page then says so, not "try again").
PAID_OR_LATER = frozenset({S.PROCESSING, S.PAID, S.CONFIRMED, S.NEEDS_REVIEW, S.REFUNDED, S.PARTIALLY_REFUNDED})
# Orders an operator (or the customer's cancellation) may refund.
REFUNDABLE = frozenset({S.CONFIRMED, S.PARTIALLY_REFUNDED, S.NEEDS_REVIEW})


def can_move(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())
