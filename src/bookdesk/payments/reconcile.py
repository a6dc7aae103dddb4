"""Reconciliation: compare what Stripe knows with what we recorded, and apply what is missing.

For a window of time it lists Stripe's events of the types we handle and its Checkout Sessions.
An event missing from our inbox (a webhook that never came) is stored and processed like any
other; a session whose state differs from our payment is applied with `fulfil_checkout`. Every fix
goes through the same idempotent functions as webhooks, so reconciling twice changes nothing.

It checks the other way too: a payment we hold as paid whose session Stripe does not show as paid (open,
expired, unpaid, or unknown to Stripe: a forged or mistaken event) puts its order under review.

The worker runs it every RECONCILE_INTERVAL_SECONDS measured from the last run recorded in the database
(`ReconcileRun`), so a worker restarted more often than that still reconciles (`reconcile_if_due`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bookdesk.payments import gateway, webhooks
from bookdesk.payments.fulfilment import PAID, fulfil_checkout, review_unpaid_at_stripe
from bookdesk.payments.models import Payment, ReconcileRun, WebhookEvent

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
    seen: set[str] = set()
    for session in _stripe_list(client.checkout.sessions, {"created": created, "limit": 100}):
        report.sessions_seen += 1
        seen.add(session.id)
        payment = Payment.objects.filter(session_id=session.id).select_related("order").first()
        if payment is None:
            continue
        if payment.status == Payment.Status.PAID and not _paid(session):
            _review(report, payment, stripe_says=_state(session))
            continue
        if session.status == gateway.SessionStatus.OPEN or payment.status in SETTLED.get(session.status, set()):
            continue
        try:
            outcome = fulfil_checkout(session.id, actor="reconcile")
            report.fixes.append(f"session {session.id} of {payment.order.code} was {payment.status}: {outcome}")
        except Exception as exc:
            logger.exception("reconcile: session %s", session.id)
            report.errors.append(f"session {session.id}: {exc}")
    _check_paid_not_listed(report, seen)
    return report


def _paid(session: Any) -> bool:
    return session.status == gateway.SessionStatus.COMPLETE and session.payment_status in PAID


def _state(session: Any) -> str:
    return f"{session.status} ({session.payment_status})"


def _review(report: Report, payment: Payment, *, stripe_says: str) -> None:
    try:
        if review_unpaid_at_stripe(payment, stripe_says=stripe_says) is not None:
            report.fixes.append(
                f"session {payment.session_id} of {payment.order.code} is paid here but {stripe_says} at Stripe: "
                "order put under review"
            )
    except Exception as exc:
        logger.exception("reconcile: session %s", payment.session_id)
        report.errors.append(f"session {payment.session_id}: {exc}")


def _check_paid_not_listed(report: Report, seen: set[str]) -> None:
    """Payments of the window we hold as paid whose session Stripe's listing did not show: asked one by one."""
    paid = Payment.objects.filter(status=Payment.Status.PAID, created_at__gte=report.since).select_related("order")
    for payment in paid.exclude(session_id=None).order_by("pk"):
        if payment.session_id in seen:
            continue
        try:
            session = gateway.retrieve_session(payment.session_id or "")
        except gateway.GatewayError as exc:
            if exc.stripe_code != "resource_missing":
                report.errors.append(f"session {payment.session_id}: {exc}")
                continue
            _review(report, payment, stripe_says="unknown (no such session)")
            continue
        if not _paid(session):
            _review(report, payment, stripe_says=_state(session))


# --- when the worker reconciles ----------------------------------------------------------------------------

# A run that started this long ago without finishing is taken as dead (its worker was killed), not running.
RUN_LEASE = timedelta(minutes=10)


def _interval() -> timedelta:
    return timedelta(seconds=int(settings.RECONCILE_INTERVAL_SECONDS))


@transaction.atomic
def _claim_run(now: datetime) -> ReconcileRun | None:
    """Record a new run if one is due: none finished within the interval, none running. Claimed under the
    latest run's row lock, so workers starting together take turns (SQLite: its write lock)."""
    latest = ReconcileRun.objects.select_for_update().order_by("-started_at", "-pk").first()
    if latest is not None:
        last_finished = ReconcileRun.objects.exclude(finished_at=None).order_by("-started_at").first()
        if last_finished is not None and now - last_finished.started_at < _interval():
            return None
        if latest.finished_at is None and now - latest.started_at < min(RUN_LEASE, _interval()):
            return None
    window = timedelta(hours=int(settings.RECONCILE_WINDOW_HOURS))
    return ReconcileRun.objects.create(started_at=now, since=now - window)


def reconcile_if_due(*, now: datetime | None = None) -> Report | None:
    """Reconcile if RECONCILE_INTERVAL_SECONDS have passed since the last run (or none ever ran), recording
    the run; None when not due (or RECONCILE_INTERVAL_SECONDS is 0: never)."""
    if not int(settings.RECONCILE_INTERVAL_SECONDS):
        return None
    run = _claim_run(now or timezone.now())
    if run is None:
        return None
    report = Report(since=run.since)
    try:
        report = reconcile(since=run.since)
    except Exception as exc:  # Stripe away: the run is recorded with its error, and due again after the interval
        logger.exception("reconciliation failed")
        report.errors.append(f"{type(exc).__name__}: {exc}")
    ReconcileRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        events_seen=report.events_seen,
        sessions_seen=report.sessions_seen,
        fixed=len(report.fixes),
        errors=len(report.errors),
        report="\n".join(report.lines())[:20000],
    )
    return report
