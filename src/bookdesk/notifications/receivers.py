"""The customer's emails for what payments report (`payments.events`) and orders report (`orders.events`):
queued in the outbox, in the transaction of the change itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bookdesk.notifications import licences, services
from bookdesk.orders import events as order_events
from bookdesk.orders.models import Order, OrderLine, Shipment
from bookdesk.payments import events
from bookdesk.payments.events import RefundCause


def on_orders_confirmed(*, confirmed: Sequence[tuple[Order, Sequence[OrderLine]]], **_: Any) -> None:
    # The licence agreements first, so the confirmation's download links find them; one transaction with both.
    licences.agreements_make(confirmed)
    services.notify_orders_confirmed(confirmed)


def on_payment_failed(*, order: Order, retry_url: str, **_: Any) -> None:
    services.notify_payment_failed(order, retry_url=retry_url)


_REFUND_EMAILS = {
    RefundCause.CANCELLATION: services.notify_refund_issued,
    RefundCause.LATE_PAYMENT: services.notify_late_payment_refunded,
    RefundCause.DUPLICATE_PAYMENT: services.notify_duplicate_payment_refunded,
}


def on_refund_issued(*, order: Order, amount: int, refund_id: str, cause: RefundCause, **_: Any) -> None:
    _REFUND_EMAILS[cause](order, amount=amount, refund_id=refund_id)


def on_shipment_shipped(*, shipment: Shipment, **_: Any) -> None:
    services.notify_shipment_shipped(shipment)


def connect() -> None:
    events.orders_confirmed.connect(on_orders_confirmed, dispatch_uid="bookdesk.notifications.orders_confirmed")
    events.payment_failed.connect(on_payment_failed, dispatch_uid="bookdesk.notifications.payment_failed")
    events.refund_issued.connect(on_refund_issued, dispatch_uid="bookdesk.notifications.refund_issued")
    order_events.shipment_shipped.connect(on_shipment_shipped, dispatch_uid="bookdesk.notifications.shipment_shipped")
