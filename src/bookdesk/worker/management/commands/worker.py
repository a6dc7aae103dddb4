"""`bookdesk worker`: the worker loop (`bookdesk.worker.loop`) until SIGTERM or Ctrl-C, or once with --once."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bookdesk.worker.loop import run, sweep_once, work_once


class Command(BaseCommand):
    help = "Apply stored webhook events, send due emails and release lapsed holds until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds to sleep when nothing is due.")
        parser.add_argument("--sweep-interval", type=float, default=float(settings.SWEEP_INTERVAL_SECONDS))
        parser.add_argument(
            "--threads", type=int, default=int(settings.WORKER_THREADS), help="Threads working the queues."
        )
        parser.add_argument("--once", action="store_true", help="Do everything that is due, then exit.")

    def handle(
        self, *args: Any, interval: float, sweep_interval: float, threads: int, once: bool, **options: Any
    ) -> None:
        if once:
            done = sweep_once()
            while any((more := work_once()).values()):  # until nothing is due (a failure waits for its backoff)
                for name, n in more.items():
                    done[name] += n
            self.stdout.write("worker: " + ", ".join(f"{n} {name}" for name, n in done.items()))
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        if threads < 1:
            raise CommandError("--threads must be at least 1.")
        self.stdout.write(
            f"worker running ({threads} thread{'s' if threads > 1 else ''}, polls every {interval}s when idle, "
            f"hold sweep every {sweep_interval}s)"
        )
        run(stop, interval=interval, sweep_interval=sweep_interval, threads=threads)
        self.stdout.write("worker stopped")
