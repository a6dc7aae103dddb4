"""The worker loop (`bookdesk worker`): applies stored webhook events, sends due emails, runs the periodic sweeps.

The queues are our own durable tables, written in the business write's transaction: the webhook inbox,
the email outbox, and the beats whose audio waits to be derived (`Product.audio_status`). Each round the
worker applies the due webhook events (oldest first), then sends the due emails, then derives one beat;
it sleeps `--interval` only when a round found nothing to do. Every `--sweep-interval` it releases lapsed
holds; at start and on each sweep it reconciles with Stripe when a run is due (`RECONCILE_INTERVAL_SECONDS`
after the last run recorded in the database, by whichever worker), and brings the sales roll-up up to date.

Run as many as you like on PostgreSQL: rows are claimed with SELECT … FOR UPDATE SKIP LOCKED, and every
sweep is idempotent, so two workers at once do no harm. SIGTERM or Ctrl-C lets the current batch finish.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connections

from bookdesk.catalog.audio_services import audio_derive_due
from bookdesk.notifications.services import emails_send_due
from bookdesk.ops.heartbeats import heartbeat_beat, heartbeat_forget, heartbeat_seconds
from bookdesk.payments.checkout import holds_sweep
from bookdesk.payments.reconcile import reconcile_if_due
from bookdesk.payments.sales_days import sales_days_refresh
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


def sales_days_once() -> int:
    """Bring the sales roll-up up to date (payments/sales_days.py), so the console's sales page finds little to
    sum: at start it sums every day once, on each sweep the days changed since. Returns the days summed again."""
    summed = sales_days_refresh()
    if summed is None:
        logger.info("sales roll-up: every day summed")
        return 0
    return summed


def reconcile_once() -> None:
    """Repair what missed webhooks left behind (see `bookdesk reconcile`), if a run is due: the last run is
    kept in the database, so restarts neither skip it nor repeat it. Logged, never raised."""
    try:
        report = reconcile_if_due()
        for line in report.lines() if report is not None and (report.fixes or report.errors) else []:
            logger.info("reconcile: %s", line.strip())
        if report is not None:
            heartbeat_beat(reconciled=True)
    except Exception:
        logger.exception("reconciliation failed; trying again later")
    finally:
        close_old_connections()


def beat_once() -> None:
    """Say this worker is alive (its heartbeat row); a failure is logged, never the end of the worker."""
    try:
        heartbeat_beat()
    except Exception:
        logger.exception("heartbeat failed; trying again next round")
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
    beat_every = heartbeat_seconds()
    last_sweep = time.monotonic()
    beat_once()
    last_beat = time.monotonic()
    try:
        reconcile_once()  # at start, when due: a worker restarted often still reconciles
        _guarded("sales roll-up", sales_days_once)
        while not stop.is_set():
            done = work_once()
            now = time.monotonic()
            if now - last_beat >= beat_every:
                last_beat = now
                beat_once()
            if now - last_sweep >= sweep_interval:
                last_sweep = now
                done["holds expired"] = _guarded("hold sweep", holds_sweep)
                reconcile_once()  # asks the database whether a run is due (one query when not)
                done["sales days summed"] = _guarded("sales roll-up", sales_days_once)
            if any(done.values()):
                logger.info("worker: %s", _report(done))
            else:
                stop.wait(interval)
    finally:
        stop.set()
        for helper in helpers:
            helper.join()
        with contextlib.suppress(Exception):  # a database that is away: the row goes stale instead
            heartbeat_forget()
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
