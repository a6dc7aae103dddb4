"""What an order holds, moved together: seats, slots and licenses released, confirmed or cancelled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from bookdesk.orders.models import Booking, Grant, HoldStatus, Order, OrderKind, OrderLine, Reservation, StockHold

HoldModel = type[Booking] | type[Reservation] | type[Grant] | type[StockHold]
# Which hold tables an order of each kind can have rows in (a mixed cart: any of them).
HOLD_MODELS: dict[str, tuple[HoldModel, ...]] = {
    OrderKind.COURSE_BOOKING: (Booking,),
    OrderKind.RESERVATION_PAYMENT: (Reservation,),
    OrderKind.BEATS_ONLY: (Grant, StockHold),
}


def _move_holds(order: Order, *, source: Sequence[str], to: str) -> int:
    moved = 0
    for model in HOLD_MODELS.get(order.kind, (Booking, Reservation, Grant, StockHold)):
        moved += model.objects.filter(line__order=order, status__in=source).update(status=to)
    return moved


def release_holds(*, order: Order, to: str = HoldStatus.RELEASED) -> int:
    """Give back everything an order holds (seats, slots, licenses); returns how many holds moved."""
    return _move_holds(order, source=[HoldStatus.HELD], to=to)


def confirm_holds(*, lines: Iterable[OrderLine]) -> Counter[int]:
    """Held seats, slots and licenses of these lines (paid orders') become confirmed; how many, by order id.

    The lines are read with `lines_with_holds`; their holds change on them too. One UPDATE per kind of
    hold, however many orders: the orders are locked, so what the lines show held is held.
    """
    moved: Counter[int] = Counter()
    held: dict[HoldModel, list[int]] = {}
    for line in lines:
        hold = line.hold
        if hold is not None and hold.status == HoldStatus.HELD:
            hold.status = HoldStatus.CONFIRMED
            held.setdefault(type(hold), []).append(hold.pk)
            moved[line.order_id] += 1
    for model, pks in held.items():
        model.objects.filter(pk__in=pks, status=HoldStatus.HELD).update(status=HoldStatus.CONFIRMED)
    return moved


def cancel_holds(*, order: Order) -> int:
    """Everything an order holds or was granted is given back (a full refund, a cancellation)."""
    return _move_holds(order, source=[HoldStatus.HELD, HoldStatus.CONFIRMED], to=HoldStatus.CANCELLED)


def cancel_line_holds(*, line_ids: Sequence[int]) -> int:
    """What these lines hold or were granted is given back (a line cancelled): its seat, slot, license or units."""
    moved = 0
    for model in (Booking, Reservation, Grant, StockHold):
        moved += model.objects.filter(
            line_id__in=list(line_ids), status__in=[HoldStatus.HELD, HoldStatus.CONFIRMED]
        ).update(status=HoldStatus.CANCELLED)
    return moved
