"""The worker loop (`bookdesk worker`): applies stored webhook events, sends due emails, runs the periodic sweeps.

The queues are our own durable tables, written in the business write's transaction: the webhook inbox,
the email outbox, and the beats whose audio waits to be derived (`Product.audio_status`). Each round the
worker applies the due webhook events (oldest first), then sends the due emails, then derives one beat;
it sleeps `--interval` only when a round found nothing to do. Every `--sweep-interval` it releases lapsed
holds, and every `RECONCILE_INTERVAL_SECONDS` it reconciles with Stripe.

Run as many as you like on PostgreSQL: rows are claimed with SELECT … FOR UPDATE SKIP LOCKED, and every
sweep is idempotent, so two workers at once do no harm. SIGTERM or Ctrl-C lets the current batch finish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from bookdesk.catalog.audio_services import audio_derive_due
from bookdesk.notifications.services import emails_send_due
from bookdesk.payments.checkout import holds_sweep
from bookdesk.payments.reconcile import reconcile
from bookdesk.payments.webhooks import process_due

logger = logging.getLogger("bookdesk.worker")

# Work taken per round from each queue, so neither starves the other.
BATCH = 100


def _guarded(name: str, work: Callable[[], int]) -> int:
    """Run one piece of work; a failure is logged and retried next round, never the end of the worker."""
    try:
        return work()
    except Exception:
        logger.exception("%s failed; trying again next round", name)
        return 0
    finally:
        close_old_connections()


def work_once() -> dict[str, int]:
    """One round over the queues: due webhook events, due emails, then one beat's audio to derive.

    A derivation takes seconds (a 3-minute master: bench/bench_beats.py), so one per round: webhooks and
    emails never wait behind a batch of beats.
    """
    return {
        "webhooks processed": _guarded("webhook processing", lambda: process_due(limit=BATCH)),
        "emails sent": _guarded("email sending", lambda: emails_send_due(limit=BATCH)),
        "beats derived": _guarded("audio derivation", lambda: audio_derive_due(limit=1)),
    }


def sweep_once() -> dict[str, int]:
    """Everything the worker does, once: lapsed holds released, then a round over the queues."""
    return {"holds expired": _guarded("hold sweep", holds_sweep), **work_once()}


def reconcile_once() -> None:
    """Repair what missed webhooks left behind (see `bookdesk reconcile`); logged, never raised."""
    try:
        report = reconcile(since=timezone.now() - timedelta(hours=settings.RECONCILE_WINDOW_HOURS))
        for line in report.lines() if report.fixes or report.errors else []:
            logger.info("reconcile: %s", line.strip())
    except Exception:
        logger.exception("reconciliation failed; trying again later")
    finally:
        close_old_connections()


def _report(done: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in done.items() if n)


def run(stop: threading.Event, *, interval: float, sweep_interval: float, threads: int = 1) -> None:
    """Rounds until `stop` is set: the queues as fast as there is work, the sweeps on their timers.

    With `threads` > 1, more threads work the queues alongside (each claims its own rows): while one
    waits for the database, another runs.
    """
    helpers = [
        threading.Thread(target=_work_forever, args=(stop, interval), name=f"worker-{n}", daemon=True)
        for n in range(1, threads)
    ]
    for helper in helpers:
        helper.start()
    reconcile_every = float(settings.RECONCILE_INTERVAL_SECONDS)
    last_sweep = last_reconcile = time.monotonic()
    try:
        while not stop.is_set():
            done = work_once()
            now = time.monotonic()
            if now - last_sweep >= sweep_interval:
                last_sweep = now
                done["holds expired"] = _guarded("hold sweep", holds_sweep)
            if reconcile_every and now - last_reconcile >= reconcile_every:
                last_reconcile = now
                reconcile_once()
            if any(done.values()):
                logger.info("worker: %s", _report(done))
            else:
                stop.wait(interval)
    finally:
        stop.set()
        for helper in helpers:
            helper.join()
        connections.close_all()


def _work_forever(stop: threading.Event, interval: float) -> None:
    try:
        while not stop.is_set():
            done = work_once()
            if any(done.values()):
                logger.info("worker: %s", _report(done))
            else:
                stop.wait(interval)
    finally:
        connections.close_all()  # this thread's own
