"""Stripe webhooks: verify and store (intake), then apply each stored event exactly once (processing).

Intake (`POST /api/stripe/webhook`, the view is `api.webhook.intake`) verifies the signature on the raw
body (`verify_signature`), stores the event in the `WebhookEvent` inbox (`store`; its Stripe id is unique:
a duplicate is answered 200 and ignored) and answers at once. Anything a sender can get wrong is a 400
problem document that stores nothing.

The inbox is the work queue: storing an event is enqueuing it (one row, one statement). `bookdesk worker`
claims a batch of the oldest due events with `SELECT … FOR UPDATE SKIP LOCKED` (workers never wait on
each other, and the events of a worker that died are simply due again once its transaction rolled back),
applies them and records their new status in the same transaction: paid sessions, nearly all of the
traffic, together in a few statements; any other event after, alone, in a transaction of its own. A
handler that raises rolls its transaction back (a batch's: all of it, and its events are then applied
one at a time); the failure is recorded with a backoff, and the event is `dead` after too many.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from bookdesk.ops.metrics import WEBHOOK_EVENTS, WEBHOOK_LAG
from bookdesk.payments import fulfilment
from bookdesk.payments.models import WebhookEvent

logger = logging.getLogger("bookdesk.payments.webhooks")

MAX_BODY_BYTES = 256 * 1024
SIGNATURE_TOLERANCE = 300
# Events a worker may claim (when their `next_attempt_at` has come).
DUE = (WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED)


def webhook_secrets() -> list[str]:
    """STRIPE_WEBHOOK_SECRET, or several separated by commas while a secret is being rotated."""
    return [s.strip() for s in str(settings.STRIPE_WEBHOOK_SECRET or "").split(",") if s.strip()]


def max_attempts() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 8))


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


# --- intake: verify and store --------------------------------------------------------------------------------------


def verify_signature(payload: str, header: str) -> bool:
    """Stripe's own signature check (what `construct_event` runs): any of our secrets, any v1 in the header.

    The body was parsed and checked already, so only the signature is verified here (no second parse).
    Stripe's check refuses a timestamp older than the tolerance only; one as far ahead is refused here.
    """
    if not _stamp_in_tolerance(header):
        return False
    for secret in webhook_secrets():
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=SIGNATURE_TOLERANCE)
        except stripe.SignatureVerificationError:
            continue
        return True
    return False


def _stamp_in_tolerance(header: str) -> bool:
    """The header's `t=` is within SIGNATURE_TOLERANCE seconds of now, either way (a header without one fails
    Stripe's own check next)."""
    stamps = [part.strip()[2:] for part in header.split(",") if part.strip().startswith("t=")]
    if not stamps:
        return True
    try:
        stamp = int(stamps[0].strip())
    except ValueError:
        return True  # refused by Stripe's parse next
    return abs(time.time() - stamp) <= SIGNATURE_TOLERANCE


def is_event(event: Any) -> bool:
    """The shape of a Stripe event: an id, a type and a data object, within the inbox's column sizes."""
    return (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and bool(event["id"])
        and len(event["id"]) <= 255
        and isinstance(event.get("type"), str)
        and 0 < len(event["type"]) <= 100
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    )


# One statement, no transaction around it: the insert is atomic by itself, and a duplicate id is not an
# error to recover from but a row not inserted. The payload is stored as the sender's own JSON text.
# (The intake tests read every row it writes back through the model.)
_STORE = """
    INSERT INTO payments_webhookevent
        (stripe_id, type, payload, livemode, stripe_created, status, attempts, next_attempt_at, last_error,
         outcome, received_at)
    VALUES (%s, %s, %s, %s, %s, 'received', 0, %s, '', '', %s)
    ON CONFLICT (stripe_id) DO NOTHING
"""


def store(event: dict[str, Any], payload: str | None = None) -> bool:
    """Put the event in the inbox, due at once for the workers; False for a duplicate.

    `payload` is the event's JSON text as received (else the event is serialised again).
    """
    stamp = event.get("created")
    created = datetime.fromtimestamp(stamp if isinstance(stamp, int) and 0 < stamp < 2**34 else time.time(), tz=UTC)
    text = payload if payload is not None else json.dumps(event)
    when = connection.ops.adapt_datetimefield_value
    now = when(timezone.now())
    # Alone the INSERT is atomic by itself; inside a caller's transaction it takes a savepoint, so a row the
    # database refuses does not abort the caller's work.
    guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with guard, connection.cursor() as cursor:
        cursor.execute(_STORE, [event["id"], event["type"], text, bool(event.get("livemode")), when(created), now, now])
        return cursor.rowcount == 1


# --- processing ----------------------------------------------------------------------------------


def _checkout_session(session: dict[str, Any]) -> str:
    """Apply a Checkout Session event through `fulfil_checkout`.

    A session in a final state (expired, or complete and paid) is applied from the signed payload: it
    cannot have changed since. Any other (a delayed payment in flight) may be stale by the time it is
    applied, or arrive after a later event: it is re-read from Stripe.
    """
    session_id = str(session.get("id") or "")
    return fulfilment.fulfil_checkout(session_id, session=session if fulfilment.is_final(session) else None)


HANDLERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "checkout.session.completed": _checkout_session,
    "checkout.session.async_payment_succeeded": _checkout_session,
    "checkout.session.async_payment_failed": _checkout_session,
    "checkout.session.expired": _checkout_session,
    "payment_intent.payment_failed": lambda obj: "card declined on the payment page; the session stays open",
    "charge.refunded": fulfilment.apply_charge_refunded,
    "refund.updated": fulfilment.apply_refund_updated,
    "charge.dispute.created": fulfilment.apply_dispute,
}
# Handlers that apply many events at once, in the batch's transaction: given the events' objects, the outcome
# of each, or None for one that its type's own handler (above) must apply, alone.
BatchHandler = Callable[[list[dict[str, Any]]], Sequence[str | None]]
BATCH_HANDLERS: dict[str, BatchHandler] = {
    "checkout.session.completed": fulfilment.fulfil_paid_sessions,
    "checkout.session.async_payment_succeeded": fulfilment.fulfil_paid_sessions,
}
NO_HANDLER = "no handler for this event type"
# Events claimed, applied and recorded in one transaction.
BATCH_SIZE = 50


def _skip_locked(rows: QuerySet[WebhookEvent]) -> QuerySet[WebhookEvent]:
    """`rows`, row-locked as they are read; rows another worker holds are skipped, never waited for.

    SQLite has no row locks: its write lock (transactions begin IMMEDIATE) serialises the workers.
    """
    if connection.features.has_select_for_update_skip_locked:
        return rows.select_for_update(skip_locked=True)
    return rows


def _lock_first(rows: QuerySet[WebhookEvent]) -> WebhookEvent | None:
    return _skip_locked(rows).first()


def process_batch(*, now: datetime | None = None, size: int = BATCH_SIZE) -> int:
    """Claim up to `size` due events, oldest first, and apply them; returns how many were claimed.

    What the batch handlers can apply (paid sessions: nearly all the traffic) is applied together, and those
    events' new status recorded, in one transaction with the claim: an event's effects and its status
    commit together. The other events are then applied one at a time (`process`), each in a transaction of
    its own. If anything in the batch raises, all of it rolls back and each of its events is applied alone
    instead: the failing one records its failure, the others succeed.
    """
    claimed: list[WebhookEvent] = []
    try:
        with transaction.atomic():
            due = WebhookEvent.objects.filter(status__in=DUE, next_attempt_at__lte=now or timezone.now())
            claimed = list(_skip_locked(due.order_by("next_attempt_at", "pk"))[:size])
            alone = _apply_together(claimed)
    except Exception:
        if not claimed:
            raise  # the claim itself failed (the database is away): nothing was taken
        logger.warning("a batch of %d webhook events failed; applying them one at a time", len(claimed), exc_info=True)
        alone = claimed
    for event in alone:
        process(event.pk)
    return len(claimed)


def _apply_together(events: list[WebhookEvent]) -> list[WebhookEvent]:
    """Apply what the batch handlers can, and record those events' new status; returns the events left over."""
    finished: list[tuple[WebhookEvent, str, str]] = []
    batches: dict[BatchHandler, list[WebhookEvent]] = {}
    for event in events:
        if event.type not in HANDLERS:
            finished.append((event, WebhookEvent.Status.IGNORED, NO_HANDLER))
        elif event.type in BATCH_HANDLERS:
            batches.setdefault(BATCH_HANDLERS[event.type], []).append(event)
    for handler, batch in batches.items():
        outcomes = handler([event.payload["data"]["object"] for event in batch])
        finished += [
            (event, WebhookEvent.Status.PROCESSED, outcome)
            for event, outcome in zip(batch, outcomes, strict=True)
            if outcome is not None
        ]
    _finish(finished)
    done = {event.pk for event, _, _ in finished}
    return [event for event in events if event.pk not in done]


def process_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Process due events, oldest first, until none is due or `limit` were taken; returns how many."""
    done = 0
    while done < limit and (taken := process_batch(now=now, size=min(BATCH_SIZE, limit - done))):
        done += taken
    return done


def process(event_pk: int, *, force: bool = False) -> str | None:
    """Apply one stored event now, due or not (`force` runs a dead one too); None if nothing to do."""
    return _apply(WebhookEvent.objects.filter(pk=event_pk), force=force)


def _apply(rows: QuerySet[WebhookEvent], *, force: bool) -> str | None:
    """Lock the first of `rows` and run its handler; the handler's writes and the new status commit together.

    The row lock is held while the handler runs, so two workers never apply one event at once. If the
    handler raises, everything it wrote rolls back with the claim, and the failure is recorded in a
    transaction of its own (for a retry with backoff, `dead` after too many attempts).
    """
    claimed: WebhookEvent | None = None
    try:
        with transaction.atomic():
            event = _lock_first(rows)
            if event is None or event.status not in (*DUE, *([WebhookEvent.Status.DEAD] if force else [])):
                return None
            claimed = event
            handler = HANDLERS.get(event.type)
            if handler is None:
                _finish([(event, WebhookEvent.Status.IGNORED, NO_HANDLER)])
            else:
                _finish([(event, WebhookEvent.Status.PROCESSED, handler(event.payload["data"]["object"]))])
            return event.status
    except Exception as exc:
        if claimed is None:
            raise  # the claim itself failed (the database is away): nothing was taken, nothing to record
        logger.exception("webhook %s (%s) failed on attempt %d", claimed.stripe_id, claimed.type, claimed.attempts + 1)
        return _fail(claimed.pk, exc, force=force)


def _finish(finished: list[tuple[WebhookEvent, str, str]]) -> None:
    """Record events as done, each with its status and outcome: one UPDATE per status and outcome."""
    now = timezone.now()
    same: dict[tuple[str, str], list[int]] = {}
    for event, status, outcome in finished:
        event.status = status
        event.attempts += 1
        event.outcome = outcome[:300]
        event.last_error = ""
        event.processed_at = now
        same.setdefault((status, event.outcome), []).append(event.pk)
        WEBHOOK_EVENTS.labels(type=event.type, outcome=status).inc()
        WEBHOOK_LAG.observe(max(0.0, (now - event.stripe_created).total_seconds()))
        logger.info("webhook %s %s: %s (%s)", event.stripe_id, event.type, status, outcome)
    for (status, outcome), pks in same.items():
        WebhookEvent.objects.filter(pk__in=pks).update(
            status=status, attempts=F("attempts") + 1, outcome=outcome, last_error="", processed_at=now
        )


@transaction.atomic
def _fail(event_pk: int, exc: Exception, *, force: bool) -> str | None:
    """Record a failed attempt; None if another worker has finished the event meanwhile."""
    event = WebhookEvent.objects.select_for_update().filter(pk=event_pk).first()
    if event is None or event.status not in (*DUE, *([WebhookEvent.Status.DEAD] if force else [])):
        return None
    event.attempts += 1
    event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    dead = event.attempts >= max_attempts()
    event.status = WebhookEvent.Status.DEAD if dead else WebhookEvent.Status.FAILED
    event.next_attempt_at = timezone.now() + backoff(event.attempts)
    event.save(update_fields=["status", "attempts", "last_error", "next_attempt_at"])
    WEBHOOK_EVENTS.labels(type=event.type, outcome=event.status).inc()
    return event.status


def replay(event_pk: int) -> str | None:
    """Run an event again now (a dead one included); what an operator does after fixing the cause."""
    WebhookEvent.objects.filter(pk=event_pk, status=WebhookEvent.Status.DEAD).update(
        status=WebhookEvent.Status.FAILED, attempts=0
    )
    return process(event_pk, force=True)
