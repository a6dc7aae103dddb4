"""An operator's decisions on money that did not fit: resolving an order under review, replaying a dead event.

Both are one-click actions of the console's attention page, audited with the operator as actor. Either refuses,
changing nothing, when someone (another operator, the worker) handled the thing meanwhile.
"""

from __future__ import annotations

from django.db import transaction

from bookdesk.errors import Conflict, InvalidInput, NotFound
from bookdesk.orders.audit import audit
from bookdesk.orders.holds import confirm_holds
from bookdesk.orders.models import Order, OrderStatus
from bookdesk.orders.selectors import lines_with_holds
from bookdesk.orders.services import order_transition
from bookdesk.payments import events, webhooks
from bookdesk.payments.models import WebhookEvent

MAX_NOTE = 500


class AlreadyHandled(Conflict):
    code = "already_handled"
    title = "Someone handled this already"


def _after_review(order: Order) -> str:
    """Where a resolved order goes: refunded as far as it was, else confirmed (the money is kept)."""
    if order.amount_refunded >= order.total_amount > 0:
        return OrderStatus.REFUNDED
    if order.amount_refunded > 0:
        return OrderStatus.PARTIALLY_REFUNDED
    return OrderStatus.CONFIRMED


@transaction.atomic
def order_review_resolve(*, order_id: int, note: str, actor: str) -> Order:
    """Close an order's review with the operator's note: the money is kept and the order confirmed (what it
    held confirmed too), or it stays refunded as far as it was. To give money back, refund instead."""
    note = note.strip()
    if not note:
        raise InvalidInput(
            "Write a note saying why the review is resolved.", errors=[{"field": "note", "message": "required"}]
        )
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound("No such order.")
    if order.status != OrderStatus.NEEDS_REVIEW:
        raise AlreadyHandled(
            f"Order {order.code} is no longer under review (it is {order.get_status_display().lower()}); "
            "nothing was changed."
        )
    reason = order.review_reason
    target = _after_review(order)
    audit(
        actor=actor,
        action="order.review_resolved",
        obj=order,
        order=order,
        data={"note": note[:MAX_NOTE], "reason": reason, "to": target},
    )
    order.review_reason = ""
    order.save(update_fields=["review_reason", "updated_at"])
    order_transition(order=order, to=target, actor=actor, data={"review": "resolved"})
    if target == OrderStatus.CONFIRMED:
        lines = list(lines_with_holds(order))
        confirm_holds(lines=lines)
        # The customer hears of it once: the confirmation email's key is unique per order.
        events.tell_orders_confirmed([(order, lines)])
    return order


def webhook_replay(*, event_id: int, actor: str) -> str:
    """Apply a dead webhook event again now (after its cause was fixed); returns its new status.

    Refused, changing nothing, when the event is not dead (replayed by someone else, or retried by the worker).
    """
    event = WebhookEvent.objects.filter(pk=event_id).only("pk", "stripe_id", "type", "status").first()
    if event is None:
        raise NotFound("No such webhook event.")
    if event.status != WebhookEvent.Status.DEAD:
        raise AlreadyHandled(
            f"Event {event.stripe_id} is no longer dead (it is {event.get_status_display().lower()}); "
            "nothing was replayed."
        )
    status = webhooks.replay(event.pk)
    if status is None:  # another replay took it between our read and the claim
        raise AlreadyHandled(f"Event {event.stripe_id} was replayed by someone else meanwhile; nothing was replayed.")
    audit(
        actor=actor,
        action="webhook.replayed",
        obj=event,
        data={"stripe_id": event.stripe_id, "type": event.type, "status": status},
    )
    return status
