from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone
from ninja import Schema

from bookdesk.fields import ObjectId
from bookdesk.money import money
from bookdesk.orders import states
from bookdesk.orders.models import Order, Shipment
from bookdesk.payments.models import Payment


class MoneyOut(Schema):
    amount: int
    currency: str


class OrderLineOut(Schema):
    kind: str
    description: str
    quantity: int
    unit_price: MoneyOut
    total: MoneyOut


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
                    kind=line.kind,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=m(line.unit_amount),
                    total=m(line.total_amount),
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


class CheckoutOut(Schema):
    order: OrderOut
    checkout_url: str
    session_id: str


class CourseCheckoutIn(Schema):
    course_id: ObjectId
