"""Liveness, readiness and Prometheus exposition."""

from __future__ import annotations

import hmac
import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from bookdesk.ops.config import Level, config_problems
from bookdesk.ops.heartbeats import worker_states, workers_summary
from bookdesk.ops.metrics import exposition

logger = logging.getLogger("bookdesk.ops")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so a database outage does not restart it."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        row = cursor.fetchone()
    if not row or row[0] != 1:
        raise RuntimeError("unexpected answer")
    return "ok"


def _check_cache() -> str:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    if value != "1":
        raise RuntimeError("value did not round-trip")
    return "ok"


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, cache and configuration are fit to serve; 503 names whatever is not.

    Workers are reported (`checks.workers`: ok, none, or stale: …) and a stale one is a warning, but it does
    not make this web process unready: taking every web process out of the load balancer because a worker
    hangs would turn a slow queue into an outage. No worker at all ("none") is fine: the web serves alone.
    """
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("cache", _check_cache)):
        try:
            checks[name] = check()
        except Exception as exc:
            # The exception class only: driver messages can contain connection strings.
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = f"failed: {type(exc).__name__}"
    found = config_problems()
    problems = [problem for problem in found if problem.level != Level.WARNING]
    checks["config"] = "ok" if not problems else "failed: " + ", ".join(problem.id for problem in problems)
    ready = all(value == "ok" for value in checks.values())
    warnings = [problem.message for problem in found if problem.level == Level.WARNING]
    if checks["database"] == "ok":
        try:
            workers = worker_states()
            checks["workers"] = workers_summary(workers)
            warnings += [
                f"worker {w.name} silent for {int(w.silent_for.total_seconds())} s" for w in workers if w.stale
            ]
        except Exception as exc:  # the table is missing (not migrated yet): reported, not fatal
            checks["workers"] = f"unknown: {type(exc).__name__}"
    body: dict[str, object] = {"status": "ready" if ready else "unavailable", "checks": checks}
    if not ready:
        body["problems"] = [problem.message for problem in problems]
    if warnings:
        body["warnings"] = warnings
    return JsonResponse(body, status=200 if ready else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition; with METRICS_TOKEN set, only for `Authorization: Bearer <token>`."""
    token = str(getattr(settings, "METRICS_TOKEN", "") or "")
    if not token and getattr(settings, "BOOKDESK_PRODUCTION", False):
        # Production needs a token (`ops.config` says so): without one there is nothing here for anyone.
        return HttpResponse("Not found\n", status=404, content_type="text/plain")
    if token:
        supplied = request.headers.get("Authorization", "")
        if not hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
            response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    payload, content_type = exposition()
    return HttpResponse(payload, content_type=content_type)
