"""`bookdesk worker`: runs queued tasks (django-tasks, database backend) and the periodic sweeps.

Run as many as you like on PostgreSQL: tasks are claimed with SELECT … FOR UPDATE SKIP LOCKED, and
every sweep is idempotent, so two workers sweeping at once do no harm.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django_tasks_db.management.commands.db_worker import Worker

from bookdesk.payments.services import holds_sweep

logger = logging.getLogger("bookdesk.worker")


def sweep_forever(stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            close_old_connections()
            expired = holds_sweep()
            if expired:
                logger.info("hold sweep expired %d orders", expired)
        except Exception:
            logger.exception("hold sweep failed; trying again in %ss", interval)
        finally:
            close_old_connections()


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
            self.stdout.write(f"sweep: {holds_sweep()} orders expired")
            worker.run()
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
