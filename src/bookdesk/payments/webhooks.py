"""Stripe webhooks: verify and store (intake), then apply each stored event exactly once (processing).

Intake (`POST /api/stripe/webhook`) verifies the signature on the raw body, stores the event in the
`WebhookEvent` inbox (its Stripe id is unique: a duplicate is answered 200 and ignored), enqueues its
processing in the same transaction and answers at once. Anything a sender can get wrong is a 400
problem document that stores nothing.

Processing runs in `bookdesk worker`: the task enqueued at intake, and a sweep that picks up events
whose task never ran or whose worker died, and failed ones whose backoff is over. Each event is
claimed under its row lock; its handler runs in its own transaction with the event's new status.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookdesk.ops.metrics import WEBHOOK_EVENTS, WEBHOOK_LAG
from bookdesk.payments import fulfilment
from bookdesk.payments.models import WebhookEvent

logger = logging.getLogger("bookdesk.payments.webhooks")

MAX_BODY_BYTES = 256 * 1024
SIGNATURE_TOLERANCE = 300
# An event whose task has not run after this long is picked up by the sweep.
PICKUP_GRACE = timedelta(seconds=30)


def webhook_secrets() -> list[str]:
    """STRIPE_WEBHOOK_SECRET, or several separated by commas while a secret is being rotated."""
    return [s.strip() for s in str(settings.STRIPE_WEBHOOK_SECRET or "").split(",") if s.strip()]


def max_attempts() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 8))


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2 ** max(0, attempts - 1)))


# --- intake --------------------------------------------------------------------------------------


def _refuse(request: HttpRequest, code: str, detail: str) -> HttpResponse:
    from bookdesk.api import problem

    logger.warning("webhook refused (%s): %s", code, detail)
    WEBHOOK_EVENTS.labels(type="unknown", outcome=code).inc()
    return problem(request, status=400, code=code, title="Webhook refused", detail=detail)


def _verify(payload: bytes, header: str) -> bool:
    """Stripe's own signature check (what `construct_event` runs): any of our secrets, any v1 in the header.

    The body was parsed and checked already, so only the signature is verified here (no second parse).
    """
    text = payload.decode("utf-8")
    for secret in webhook_secrets():
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, tolerance=SIGNATURE_TOLERANCE)
        except stripe.SignatureVerificationError:
            continue
        return True
    return False


def _is_event(event: Any) -> bool:
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


@csrf_exempt
@require_POST
def intake(request: HttpRequest) -> HttpResponse:
    length = int(request.headers.get("Content-Length") or 0)
    if length > MAX_BODY_BYTES:
        return _refuse(request, "payload_too_large", f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes.")
    payload = request.body
    if len(payload) > MAX_BODY_BYTES:
        return _refuse(request, "payload_too_large", f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes.")
    header = request.headers.get("Stripe-Signature", "")
    if not header:
        return _refuse(request, "signature_missing", "The Stripe-Signature header is missing.")
    try:
        event = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return _refuse(request, "invalid_json", "The body is not JSON.")
    if not _is_event(event):
        return _refuse(request, "invalid_event", "The body is not a Stripe event.")
    if not _verify(payload, header):
        return _refuse(request, "signature_invalid", "The signature does not match, or it is older than 5 minutes.")
    duplicate = not store(event)
    WEBHOOK_EVENTS.labels(type=event["type"], outcome="duplicate" if duplicate else "received").inc()
    return JsonResponse({"received": True, "duplicate": duplicate})


def store(event: dict[str, Any]) -> bool:
    """Put the event in the inbox and enqueue its processing, in one transaction; False for a duplicate."""
    stamp = event.get("created")
    created = datetime.fromtimestamp(stamp if isinstance(stamp, int) and 0 < stamp < 2**34 else time.time(), tz=UTC)
    try:
        with transaction.atomic():
            row = WebhookEvent.objects.create(
                stripe_id=event["id"],
                type=event["type"],
                payload=event,
                livemode=bool(event.get("livemode")),
                stripe_created=created,
                next_attempt_at=timezone.now() + PICKUP_GRACE,
            )
            from bookdesk.payments.tasks import process_webhook_event

            process_webhook_event.enqueue(row.pk)
    except IntegrityError:
        return False
    return True


# --- processing ----------------------------------------------------------------------------------


def _session_id(obj: dict[str, Any]) -> str:
    return str(obj.get("id") or "")


HANDLERS: dict[str, Callable[[dict[str, Any]], str]] = {
    # Each re-reads the session from Stripe: the payload may be stale or arrive out of order.
    "checkout.session.completed": lambda obj: fulfilment.fulfil_checkout(_session_id(obj)),
    "checkout.session.async_payment_succeeded": lambda obj: fulfilment.fulfil_checkout(_session_id(obj)),
    "checkout.session.async_payment_failed": lambda obj: fulfilment.fulfil_checkout(_session_id(obj)),
    "checkout.session.expired": lambda obj: fulfilment.fulfil_checkout(_session_id(obj)),
    "payment_intent.payment_failed": lambda obj: "card declined on the payment page; the session stays open",
    "charge.refunded": fulfilment.apply_charge_refunded,
    "refund.updated": fulfilment.apply_refund_updated,
    "charge.dispute.created": fulfilment.apply_dispute,
}


def _claim(event_pk: int, *, force: bool) -> WebhookEvent | None:
    """Lock the event row; None when another worker has it or there is nothing (more) to do."""
    rows = WebhookEvent.objects.filter(pk=event_pk)
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    event = rows.first()
    if event is None:
        return None
    if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
        return None
    if event.status == WebhookEvent.Status.DEAD and not force:
        return None
    return event


def process(event_pk: int, *, force: bool = False) -> str | None:
    """Apply one stored event; returns its new status (None when there was nothing to do).

    The row lock is held while the handler runs, so two workers never apply one event at once. The
    handler's writes and the event's new status commit together; if the handler raises, its writes
    roll back and the failure is recorded for a retry with backoff, `dead` after too many.
    """
    with transaction.atomic():
        event = _claim(event_pk, force=force)
        if event is None:
            return None
        handler = HANDLERS.get(event.type)
        if handler is None:
            _finish(event, WebhookEvent.Status.IGNORED, "no handler for this event type")
            return event.status
        try:
            with transaction.atomic():
                outcome = handler(event.payload.get("data", {}).get("object", {}))
        except Exception as exc:
            logger.exception("webhook %s (%s) failed on attempt %d", event.stripe_id, event.type, event.attempts + 1)
            _fail(event, exc)
            return event.status
        _finish(event, WebhookEvent.Status.PROCESSED, outcome)
        return event.status


def _finish(event: WebhookEvent, status: str, outcome: str) -> None:
    now = timezone.now()
    event.status = status
    event.attempts += 1
    event.outcome = outcome[:300]
    event.last_error = ""
    event.processed_at = now
    event.save(update_fields=["status", "attempts", "outcome", "last_error", "processed_at"])
    WEBHOOK_EVENTS.labels(type=event.type, outcome=status).inc()
    WEBHOOK_LAG.observe(max(0.0, (now - event.stripe_created).total_seconds()))
    logger.info("webhook %s %s: %s (%s)", event.stripe_id, event.type, status, outcome)


def _fail(event: WebhookEvent, exc: Exception) -> None:
    event.attempts += 1
    event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    dead = event.attempts >= max_attempts()
    event.status = WebhookEvent.Status.DEAD if dead else WebhookEvent.Status.FAILED
    event.next_attempt_at = timezone.now() + backoff(event.attempts)
    event.save(update_fields=["status", "attempts", "last_error", "next_attempt_at"])
    WEBHOOK_EVENTS.labels(type=event.type, outcome=event.status).inc()


def process_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Process events that are due: never picked up by their task, or failed and past their backoff."""
    now = now or timezone.now()
    due = WebhookEvent.objects.filter(
        status__in=[WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED], next_attempt_at__lte=now
    ).order_by("next_attempt_at", "pk")
    done = 0
    for pk in list(due.values_list("pk", flat=True)[:limit]):
        if process(pk) is not None:
            done += 1
    return done


def replay(event_pk: int) -> str | None:
    """Run an event again now (a dead one included); what an operator does after fixing the cause."""
    WebhookEvent.objects.filter(pk=event_pk, status=WebhookEvent.Status.DEAD).update(
        status=WebhookEvent.Status.FAILED, attempts=0
    )
    return process(event_pk, force=True)
