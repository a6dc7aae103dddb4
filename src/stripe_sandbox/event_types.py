"""Stripe's event types, and the patterns webhook endpoints and ``GET /v1/events`` take: a type,
``*`` for every event, or a group such as ``charge.*`` or ``charge.dispute.*``."""

from __future__ import annotations

import re
from collections.abc import Iterable

_GROUPS = {
    "account": "updated application.authorized application.deauthorized external_account.created "
    "external_account.deleted external_account.updated",
    "application_fee": "created refunded refund.updated",
    "balance": "available",
    "billing_portal": "configuration.created configuration.updated session.created",
    "capability": "updated",
    "cash_balance": "funds_available",
    "charge": "captured expired failed pending refunded succeeded updated refund.updated dispute.closed "
    "dispute.created dispute.funds_reinstated dispute.funds_withdrawn dispute.updated",
    "checkout.session": "async_payment_failed async_payment_succeeded completed expired",
    "coupon": "created deleted updated",
    "credit_note": "created updated voided",
    "customer": "created deleted updated discount.created discount.deleted discount.updated source.created "
    "source.deleted source.expiring source.updated subscription.created subscription.deleted "
    "subscription.paused subscription.pending_update_applied subscription.pending_update_expired "
    "subscription.resumed subscription.trial_will_end subscription.updated tax_id.created tax_id.deleted "
    "tax_id.updated",
    "customer_cash_balance_transaction": "created",
    "file": "created",
    "invoice": "created deleted finalization_failed finalized marked_uncollectible overdue paid "
    "payment_action_required payment_failed payment_succeeded sent upcoming updated voided will_be_due",
    "invoiceitem": "created deleted",
    "mandate": "updated",
    "payment_intent": "amount_capturable_updated canceled created partially_funded payment_failed processing "
    "requires_action succeeded",
    "payment_link": "created updated",
    "payment_method": "attached automatically_updated detached updated",
    "payout": "canceled created failed paid reconciliation_completed updated",
    "person": "created deleted updated",
    "plan": "created deleted updated",
    "price": "created deleted updated",
    "product": "created deleted updated",
    "promotion_code": "created updated",
    "quote": "accepted canceled created finalized",
    "radar.early_fraud_warning": "created updated",
    "refund": "created failed updated",
    "review": "closed opened",
    "setup_intent": "canceled created requires_action setup_failed succeeded",
    "source": "canceled chargeable failed",
    "subscription_schedule": "aborted canceled completed created expiring released updated",
    "tax_rate": "created updated",
    "topup": "canceled created failed reversed succeeded",
    "transfer": "created reversed updated",
}
EVENT_TYPES = frozenset(f"{group}.{name}" for group, names in _GROUPS.items() for name in names.split())
_SHAPE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


def is_known(pattern: str) -> bool:
    """A Stripe event type, ``*``, or a group wildcard some event type falls in (``charge.*``)."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return bool(_SHAPE.match(pattern[:-2])) and any(name.startswith(prefix) for name in EVENT_TYPES)
    return pattern in EVENT_TYPES


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether an event of ``event_type`` falls under any of ``patterns``."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False
