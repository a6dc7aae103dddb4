from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone
from ninja import Schema

from bookdesk.fields import ObjectId
from bookdesk.money import money
from bookdesk.orders import states
from bookdesk.orders.downloads import grant_downloads
from bookdesk.orders.models import Order, OrderLine
from bookdesk.payments.models import Payment


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


class DocumentOut(Schema):
    kind: str  # invoice | credit_note
    number: str
    url: str


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
                for p in payments
            ],
            documents=list(documents),
            checkout_url=open_page if payable else None,
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
