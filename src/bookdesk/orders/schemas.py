from __future__ import annotations

from datetime import datetime

from ninja import Schema

from bookdesk.fields import ObjectId
from bookdesk.money import MoneyDict, money
from bookdesk.orders.models import Order


class MoneyOut(Schema):
    amount: int
    currency: str


class OrderLineOut(Schema):
    kind: str
    description: str
    quantity: int
    unit_price: MoneyOut
    total: MoneyOut


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
        def m(amount: int) -> MoneyDict:
            return money(amount, order.currency)

        return OrderOut(
            code=order.code,
            status=order.status,
            status_label=order.get_status_display(),
            kind=order.kind,
            email=order.email,
            subtotal=MoneyOut(**m(order.subtotal_amount)),
            tax=MoneyOut(**m(order.tax_amount)),
            shipping=MoneyOut(**m(order.shipping_amount)),
            total=MoneyOut(**m(order.total_amount)),
            amount_refunded=MoneyOut(**m(order.amount_refunded)),
            hold_expires_at=order.hold_expires_at,
            created_at=order.created_at,
            lines=[
                OrderLineOut(
                    kind=line.kind,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=MoneyOut(**m(line.unit_amount)),
                    total=MoneyOut(**m(line.total_amount)),
                )
                for line in order.lines.all()
            ],
            payments=[
                PaymentOut(attempt=p.attempt, status=p.status, amount=MoneyOut(**m(p.amount)), created_at=p.created_at)
                for p in order.payments.all()
            ],
        )


class CheckoutOut(Schema):
    order: OrderOut
    checkout_url: str
    session_id: str


class CourseCheckoutIn(Schema):
    course_id: ObjectId
