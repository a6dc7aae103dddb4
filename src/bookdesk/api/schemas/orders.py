from __future__ import annotations

from datetime import datetime

from ninja import Schema

from bookdesk.fields import ObjectId
from bookdesk.money import money
from bookdesk.orders.downloads import grant_downloads
from bookdesk.orders.models import Order, OrderLine


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
    downloads: list[DownloadOut] = []


class PaymentOut(Schema):
    attempt: int
    status: str
    amount: MoneyOut
    created_at: datetime


class OrderOut(Schema):
    code: str
    status: str
    status_label: str
    kind: str
    email: str
    subtotal: MoneyOut
    tax: MoneyOut
    shipping: MoneyOut
    total: MoneyOut
    amount_refunded: MoneyOut
    hold_expires_at: datetime
    created_at: datetime
    lines: list[OrderLineOut]
    payments: list[PaymentOut]

    @staticmethod
    def from_order(order: Order) -> OrderOut:
        """The order as the API shows it, built from its own typed fields (so without a validation pass)."""

        def m(amount: int) -> MoneyOut:
            return MoneyOut.model_construct(**money(amount, order.currency))

        return OrderOut.model_construct(
            code=order.code,
            status=order.status,
            status_label=order.get_status_display(),
            kind=order.kind,
            email=order.email,
            subtotal=m(order.subtotal_amount),
            tax=m(order.tax_amount),
            shipping=m(order.shipping_amount),
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
                    downloads=_downloads(line),
                )
                for line in order.lines.all()
            ],
            payments=[
                PaymentOut.model_construct(
                    attempt=p.attempt, status=p.status, amount=m(p.amount), created_at=p.created_at
                )
                for p in order.payments.all()
            ],
        )


def _downloads(line: OrderLine) -> list[DownloadOut]:
    grant = getattr(line, "grant", None) if line.kind == OrderLine.Kind.PRODUCT else None
    if grant is None:
        return []
    return [DownloadOut.model_construct(kind=d.kind, name=d.name, url=d.url) for d in grant_downloads(grant)]


class CheckoutOut(Schema):
    order: OrderOut
    checkout_url: str
    session_id: str


class CourseCheckoutIn(Schema):
    course_id: ObjectId
