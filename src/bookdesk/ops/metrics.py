"""Prometheus metrics. Other apps import the objects here (or add their own to `REGISTRY`).

Labels are always low-cardinality: a route pattern, never a raw path; an outcome, never an id.
When several worker processes serve /metrics (gunicorn), set PROMETHEUS_MULTIPROC_DIR and the
exposition aggregates every process (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

REGISTRY: CollectorRegistry = DEFAULT_REGISTRY

HTTP_REQUESTS = Counter(
    "bookdesk_http_requests_total",
    "HTTP requests served, by method, route pattern and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_REQUEST_DURATION = Histogram(
    "bookdesk_http_request_duration_seconds",
    "Time to serve an HTTP request, by method and route pattern.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
HTTP_REQUESTS_IN_PROGRESS = Gauge(
    "bookdesk_http_requests_in_progress",
    "HTTP requests being served right now.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)

# Business metrics for the payment, webhook and email code to increment (operators alert on these).
CHECKOUTS = Counter(
    "bookdesk_checkouts_total",
    "Checkout attempts, by outcome (created, sold_out, already_booked, provider_error, …).",
    ["outcome"],
    registry=REGISTRY,
)
PAYMENTS = Counter(
    "bookdesk_payments_total",
    "Payments settled, by outcome (paid, failed, expired, refunded).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_EVENTS = Counter(
    "bookdesk_webhook_events_total",
    "Stripe webhook events, by type and outcome: received, duplicate, processed, ignored, failed, dead, "
    "or why intake refused it (signature_invalid, invalid_json, …).",
    ["type", "outcome"],
    registry=REGISTRY,
)
WEBHOOK_LAG = Histogram(
    "bookdesk_webhook_lag_seconds",
    "Seconds from a Stripe event's creation to its processing here.",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
EMAILS = Counter(
    "bookdesk_emails_total",
    "Outgoing emails, by outcome (sent, failed).",
    ["outcome"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "bookdesk_rate_limited_total",
    "Requests refused by a rate limit, by limit name.",
    ["limit"],
    registry=REGISTRY,
)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric, and its content type."""
    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
