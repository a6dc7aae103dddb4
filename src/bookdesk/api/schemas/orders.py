from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone
from ninja import Schema
from pydantic import Field

from bookdesk.fields import ObjectId
from bookdesk.money import money
from bookdesk.orders import states
from bookdesk.orders.downloads import grant_downloads
from bookdesk.orders.models import Order, OrderLine, Shipment
from bookdesk.payments.models import Payment
from bookdesk.payments.policy import CANCELLABLE_ORDERS, LineTerms, order_line_terms
from bookdesk.payments.refunds import Cancellation


class MoneyOut(Schema):
    amount: int
    currency: str


class DownloadOut(Schema):
    kind: str  # mp3, wav, stems, license (or file: a product sold before tiers named their deliverables)
    name: str
    url: str


class OrderLineOut(Schema):
    id: int
    kind: str
    description: str
    quantity: int
    unit_price: MoneyOut
    total: MoneyOut
    status: str = Field(description="active, or cancelled (refunded under its kind's policy, or not)")
    amount_refunded: MoneyOut
    can_cancel: bool = Field(description="Whether POST /api/orders/{code}/lines/{id}/cancel would refund it now")
    cancel_refund: MoneyOut | None = Field(description="What cancelling it now refunds (its price with its tax)")
    cancel_refusal: str | None = Field(description="Why it cannot be cancelled, when it cannot")
    downloads: list[DownloadOut] = []


class DocumentOut(Schema):
    kind: str  # invoice | credit_note
    number: str
    url: str


class PaymentOut(Schema):
    attempt: int
    status: str
    amount: MoneyOut
    created_at: datetime


class AddressOut(Schema):
    line1: str
    line2: str
    postal_code: str
    city: str
    state: str
    country: str


class ShippingRateOut(Schema):
    name: str
    amount: MoneyOut


class ShippingOut(Schema):
    """Where the order's goods go (from the payment page) and how far they got."""

    name: str
    address: AddressOut
    rate: ShippingRateOut
    status: str  # to_ship | shipped | delivered
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: datetime | None
    delivered_at: datetime | None

    @staticmethod
    def from_shipment(shipment: Shipment) -> ShippingOut:
        return ShippingOut.model_construct(
            name=shipment.name,
            address=AddressOut.model_construct(
                line1=shipment.line1,
                line2=shipment.line2,
                postal_code=shipment.postal_code,
                city=shipment.city,
                state=shipment.state,
                country=shipment.country,
            ),
            rate=ShippingRateOut.model_construct(
                name=shipment.rate_name,
                amount=MoneyOut.model_construct(**money(shipment.rate_amount, shipment.currency)),
            ),
            status=shipment.status,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url,
            shipped_at=shipment.shipped_at,
            delivered_at=shipment.delivered_at,
        )


def _shipment_of(order: Order) -> Shipment | None:
    """The order's shipment if it was read with it (`order_for` joins it); a new order has none."""
    if not Order.shipment.is_cached(order):  # type: ignore[attr-defined]
        return None
    return getattr(order, "shipment", None)


class OrderOut(Schema):
    code: str
    status: str
    status_label: str
    kind: str
    email: str
    subtotal: MoneyOut
    tax: MoneyOut
    shipping_amount: MoneyOut
    total: MoneyOut
    amount_refunded: MoneyOut
    hold_expires_at: datetime
    created_at: datetime
    lines: list[OrderLineOut]
    payments: list[PaymentOut]
    # Goods: the address, the chosen rate and the parcel's progress (DESIGN §10); null when nothing ships.
    shipping: ShippingOut | None
    documents: list[DocumentOut] = []
    checkout_url: str | None = None  # the open attempt's payment page, while the order can be paid there

    @staticmethod
    def from_order(order: Order, documents: Sequence[DocumentOut] = ()) -> OrderOut:
        """The order as the API shows it, built from its own typed fields (so without a validation pass).

        `documents` (its invoice and credit notes) are the caller's to read: a new order has none.
        """

        def m(amount: int) -> MoneyOut:
            return MoneyOut.model_construct(**money(amount, order.currency))

        payments = list(order.payments.all())
        payable = order.status in states.PAYABLE and order.hold_expires_at > timezone.now()
        open_page = next((p.checkout_url for p in payments if p.status == Payment.Status.OPEN and p.checkout_url), None)
        # The policy's terms need the lines' holds: read only for an order whose lines may be cancelled.
        terms = order_line_terms(order) if order.status in CANCELLABLE_ORDERS else {}
        closed = LineTerms(0, False, reason="Only a confirmed order can be cancelled.")

        return OrderOut.model_construct(
            code=order.code,
            status=order.status,
            status_label=order.get_status_display(),
            kind=order.kind,
            email=order.email,
            subtotal=m(order.subtotal_amount),
            tax=m(order.tax_amount),
            shipping_amount=m(order.shipping_amount),
            total=m(order.total_amount),
            amount_refunded=m(order.amount_refunded),
            hold_expires_at=order.hold_expires_at,
            created_at=order.created_at,
            lines=[
                OrderLineOut.model_construct(
                    id=line.pk,
                    kind=line.kind,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=m(line.unit_amount),
                    total=m(line.total_amount),
                    status=line.status,
                    amount_refunded=m(line.amount_refunded),
                    can_cancel=(term := terms.get(line.pk, closed)).refundable,
                    cancel_refund=m(term.total) if term.refundable else None,
                    cancel_refusal=None if term.refundable else term.reason,
                    downloads=_downloads(line),
                )
                for line in order.lines.all()
            ],
            payments=[
                PaymentOut.model_construct(
                    attempt=p.attempt, status=p.status, amount=m(p.amount), created_at=p.created_at
                )
                for p in payments
            ],
            shipping=ShippingOut.from_shipment(shipment) if (shipment := _shipment_of(order)) is not None else None,
            documents=list(documents),
            checkout_url=open_page if payable else None,
        )


def _downloads(line: OrderLine) -> list[DownloadOut]:
    grant = getattr(line, "grant", None) if line.kind == OrderLine.Kind.PRODUCT else None
    if grant is None:
        return []
    return [DownloadOut.model_construct(kind=d.kind, name=d.name, url=d.url) for d in grant_downloads(grant)]


class RefundedLineOut(Schema):
    id: int
    kind: str
    description: str
    refund: MoneyOut = Field(description="The line's price with its tax, times the policy's share")
    tax: MoneyOut = Field(description="The tax within `refund`")


class RefusedLineOut(Schema):
    id: int
    kind: str
    description: str
    reason: str


class CancellationOut(Schema):
    """What a cancel refunded (line by line, with shipping when the last goods went) and what it did not."""

    refund: MoneyOut = Field(description="Refunded now in all: the lines and any shipping")
    shipping: MoneyOut
    refunded: list[RefundedLineOut]
    refused: list[RefusedLineOut]

    @staticmethod
    def from_cancellation(cancellation: Cancellation) -> CancellationOut:
        currency = cancellation.order.currency

        def m(amount: int) -> MoneyOut:
            return MoneyOut.model_construct(**money(amount, currency))

        return CancellationOut.model_construct(
            refund=m(cancellation.amount),
            shipping=m(cancellation.shipping),
            refunded=[
                RefundedLineOut.model_construct(
                    id=line.line_id,
                    kind=line.kind,
                    description=line.description,
                    refund=m(line.amount),
                    tax=m(line.tax),
                )
                for line in cancellation.refunded
            ],
            refused=[
                RefusedLineOut.model_construct(
                    id=line.line_id, kind=line.kind, description=line.description, reason=line.reason
                )
                for line in cancellation.refused
            ],
        )


class OrderCancelOut(OrderOut):
    """The order after a cancel, and what the cancel refunded and refused (none before payment)."""

    cancellation: CancellationOut | None


class LineCancelOut(Schema):
    """One line cancelled: the refund, the line's and the order's status, and the order as it is now."""

    line_id: int
    line_status: str
    order_status: str
    refund: MoneyOut = Field(description="Refunded now: the line's price with its tax, and any shipping")
    tax: MoneyOut
    shipping: MoneyOut
    order: OrderOut


class CheckoutOut(Schema):
    order: OrderOut
    checkout_url: str
    session_id: str


class CourseCheckoutIn(Schema):
    course_id: ObjectId
