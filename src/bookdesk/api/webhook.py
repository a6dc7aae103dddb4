"""`POST /api/stripe/webhook`: Stripe's events, verified on the raw body and stored in the inbox at once.

Before the API's router (urls.py): the signature needs the raw body, and the answer needs none of ninja's
machinery. Anything a sender can get wrong is a 400 problem document that stores nothing; the worker
applies what is stored (`payments.webhooks`).
"""

from __future__ import annotations

import json
import logging

from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bookdesk.api.problems import problem
from bookdesk.ops.metrics import WEBHOOK_EVENTS
from bookdesk.payments import webhooks

logger = logging.getLogger("bookdesk.payments.webhooks")


def _refuse(request: HttpRequest, code: str, detail: str) -> HttpResponse:
    logger.warning("webhook refused (%s): %s", code, detail)
    WEBHOOK_EVENTS.labels(type="unknown", outcome=code).inc()
    return problem(request, status=400, code=code, title="Webhook refused", detail=detail)


@csrf_exempt
@require_POST
def intake(request: HttpRequest) -> HttpResponse:
    length = int(request.headers.get("Content-Length") or 0)
    if length > webhooks.MAX_BODY_BYTES:
        return _refuse(request, "payload_too_large", f"Webhook bodies are limited to {webhooks.MAX_BODY_BYTES} bytes.")
    payload = request.body
    if len(payload) > webhooks.MAX_BODY_BYTES:
        return _refuse(request, "payload_too_large", f"Webhook bodies are limited to {webhooks.MAX_BODY_BYTES} bytes.")
    header = request.headers.get("Stripe-Signature", "")
    if not header:
        return _refuse(request, "signature_missing", "The Stripe-Signature header is missing.")
    try:
        text = payload.decode("utf-8")  # as Stripe sends it; the signature covers these very bytes
        event = json.loads(text)
    except ValueError:  # UnicodeDecodeError included
        return _refuse(request, "invalid_json", "The body is not JSON in UTF-8.")
    if not webhooks.is_event(event):
        return _refuse(request, "invalid_event", "The body is not a Stripe event.")
    if not webhooks.verify_signature(text, header):
        return _refuse(request, "signature_invalid", "The signature does not match, or it is older than 5 minutes.")
    try:
        duplicate = not webhooks.store(event, text)
    except DataError:  # PostgreSQL's jsonb refuses a few things JSON allows, such as \u0000 in a string
        return _refuse(request, "invalid_event", "The event holds a value that cannot be stored (a NUL character).")
    WEBHOOK_EVENTS.labels(type=event["type"], outcome="duplicate" if duplicate else "received").inc()
    return JsonResponse({"received": True, "duplicate": duplicate})
