"""`bookdesk worker`: runs queued tasks (django-tasks, database backend) and the periodic sweeps.

The sweeps: lapsed holds are released, webhook events whose task never ran (or whose worker died)
or whose retry is due are processed, and due emails are sent.

Run as many as you like on PostgreSQL: tasks are claimed with SELECT … FOR UPDATE SKIP LOCKED, and
every sweep is idempotent, so two workers sweeping at once do no harm.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Worker

from bookdesk.payments.services import holds_sweep

logger = logging.getLogger("bookdesk.worker")


def sweep_once() -> dict[str, int]:
    """One round of every sweep; each is idempotent, so two workers sweeping at once do no harm."""
    from bookdesk.notifications.services import emails_send_due
    from bookdesk.payments.webhooks import process_due

    done: dict[str, int] = {}
    for name, sweep in (
        ("holds expired", holds_sweep),
        ("webhooks processed", process_due),
        ("emails sent", emails_send_due),
    ):
        try:
            done[name] = sweep()
        except Exception:
            logger.exception("sweep %r failed; trying again next round", name)
            done[name] = 0
        finally:
            close_old_connections()
    return done


def reconcile_once() -> None:
    """Repair what missed webhooks left behind (see `bookdesk reconcile`); logged, never raised."""
    from datetime import timedelta

    from django.utils import timezone

    from bookdesk.payments.reconcile import reconcile

    try:
        report = reconcile(since=timezone.now() - timedelta(hours=settings.RECONCILE_WINDOW_HOURS))
        for line in report.lines() if report.fixes or report.errors else []:
            logger.info("reconcile: %s", line.strip())
    except Exception:
        logger.exception("reconciliation failed; trying again later")
    finally:
        close_old_connections()


def sweep_forever(stop: threading.Event, interval: float) -> None:
    reconcile_every = float(settings.RECONCILE_INTERVAL_SECONDS)
    last_reconcile = time.monotonic()
    while not stop.wait(interval):
        done = sweep_once()
        if any(done.values()):
            logger.info("sweep: %s", ", ".join(f"{n} {name}" for name, n in done.items() if n))
        if reconcile_every and time.monotonic() - last_reconcile >= reconcile_every:
            last_reconcile = time.monotonic()
            reconcile_once()


class Command(BaseCommand):
    help = "Run background tasks and the periodic hold sweep until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between polls for tasks.")
        parser.add_argument("--sweep-interval", type=float, default=float(settings.SWEEP_INTERVAL_SECONDS))
        parser.add_argument("--once", action="store_true", help="Run one sweep and the queued tasks, then exit.")

    def handle(self, *args: Any, interval: float, sweep_interval: float, once: bool, **options: Any) -> None:
        worker = Worker(
            queue_names=["*"],
            interval=interval,
            batch=once,
            backend_name="default",
            startup_delay=not once,
            max_tasks=None,
            worker_id=f"bookdesk-{threading.get_native_id()}",
            excluded_queue_names=[],
        )
        if once:
            worker.run()
            done = sweep_once()
            self.stdout.write("sweep: " + ", ".join(f"{n} {name}" for name, n in done.items()))
            return
        stop = threading.Event()
        sweeper = threading.Thread(target=sweep_forever, args=(stop, sweep_interval), name="sweeper", daemon=True)
        sweeper.start()
        self.stdout.write(f"worker running (tasks every {interval}s, hold sweep every {sweep_interval}s)")
        worker.configure_signals()
        try:
            worker.run()
        finally:
            stop.set()
