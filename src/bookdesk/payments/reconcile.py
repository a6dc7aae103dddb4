"""Reconciliation: compare what Stripe knows with what we recorded, and apply what is missing.

For a window of time it lists Stripe's events of the types we handle and its Checkout Sessions.
An event missing from our inbox (a webhook that never came) is stored and processed like any
other; a session whose state differs from our payment is applied with `fulfil_checkout`. Every fix
goes through the same idempotent functions as webhooks, so reconciling twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bookdesk.payments import gateway, webhooks
from bookdesk.payments.fulfilment import fulfil_checkout
from bookdesk.payments.models import Payment, WebhookEvent

logger = logging.getLogger("bookdesk.payments.reconcile")

# Our payment states that a session in Stripe's state would change.
SETTLED = {
    gateway.SessionStatus.COMPLETE: {
        Payment.Status.PAID,
        Payment.Status.REFUNDING,
        Payment.Status.REFUNDED,
        Payment.Status.FAILED,
    },
    gateway.SessionStatus.EXPIRED: {
        Payment.Status.EXPIRED,
        Payment.Status.FAILED,
        Payment.Status.PAID,
        Payment.Status.REFUNDED,
    },
}


@dataclass
class Report:
    since: datetime
    events_seen: int = 0
    sessions_seen: int = 0
    fixes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = (
            f"Reconciled since {self.since:%Y-%m-%d %H:%M} UTC: {self.events_seen} events and "
            f"{self.sessions_seen} checkout sessions checked, {len(self.fixes)} fixed, {len(self.errors)} errors."
        )
        return [head, *(f"  fixed: {fix}" for fix in self.fixes), *(f"  ERROR: {err}" for err in self.errors)]


def _stripe_list(resource: Any, params: dict[str, Any]) -> Iterator[Any]:
    page = gateway.call_with_retries("list", lambda: resource.list(params=params))
    yield from page.auto_paging_iter()


def reconcile(*, since: datetime) -> Report:
    report = Report(since=since)
    created = {"gte": int(since.timestamp())}
    client = gateway.client().v1
    known = set(WebhookEvent.objects.filter(stripe_created__gte=since).values_list("stripe_id", flat=True))
    for event in _stripe_list(client.events, {"created": created, "types": list(webhooks.HANDLERS), "limit": 100}):
        report.events_seen += 1
        if event.id in known:
            continue
        try:
            if webhooks.store(event.to_dict()):
                status = webhooks.process(WebhookEvent.objects.get(stripe_id=event.id).pk)
                report.fixes.append(f"event {event.id} ({event.type}) was missing: {status}")
        except Exception as exc:  # one bad event must not stop the rest; it is reported
            logger.exception("reconcile: event %s", event.id)
            report.errors.append(f"event {event.id}: {exc}")
    for session in _stripe_list(client.checkout.sessions, {"created": created, "limit": 100}):
        report.sessions_seen += 1
        payment = Payment.objects.filter(session_id=session.id).select_related("order").first()
        if (
            payment is None
            or session.status == gateway.SessionStatus.OPEN
            or payment.status in SETTLED.get(session.status, set())
        ):
            continue
        try:
            outcome = fulfil_checkout(session.id, actor="reconcile")
            report.fixes.append(f"session {session.id} of {payment.order.code} was {payment.status}: {outcome}")
        except Exception as exc:
            logger.exception("reconcile: session %s", session.id)
            report.errors.append(f"session {session.id}: {exc}")
    return report
