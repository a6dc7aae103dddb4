"""`bookdesk serve`: the production web server — granian, WSGI, worker processes × blocking threads.

Chosen by benchmark (bench/): granian's HTTP handling runs in Rust, so a request costs the app's own
work and little more (a bare endpoint: ~0.6 ms of CPU against gunicorn gthread's ~0.9), and its
blocking threads keep serving while a checkout waits on Stripe. The command replaces itself with
granian (exec), so signals reach granian directly: SIGTERM or Ctrl-C stops it gracefully.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def server_argv(*, host: str, port: int, workers: int, threads: int) -> list[str]:
    return [
        *(sys.executable, "-m", "granian", "--interface", "wsgi", "bookdesk.wsgi:application"),
        *("--host", host, "--port", str(port), "--workers", str(workers), "--blocking-threads", str(threads)),
        *("--no-ws", "--respawn-failed-workers", "--log-level", "warning"),
    ]


class Command(BaseCommand):
    help = "Run the production web server (granian, WSGI) until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=settings.WEB_HOST)
        parser.add_argument("--port", type=int, default=settings.WEB_PORT)
        parser.add_argument("--workers", type=int, default=settings.WEB_WORKERS, help="Processes (two per core).")
        parser.add_argument(
            "--threads", type=int, default=settings.WEB_THREADS, help="Threads per process serving requests."
        )

    def handle(self, *args: Any, host: str, port: int, workers: int, threads: int, **options: Any) -> None:
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        if settings.DEBUG:
            self.stderr.write("DEBUG is on: fine for a try, never for production.")
        argv = server_argv(host=host, port=port, workers=workers, threads=threads)
        self.stdout.write(f"serving on http://{host}:{port} ({workers} processes × {threads} threads)")
        self.stdout.flush()
        os.execv(argv[0], argv)  # noqa: S606 - our own interpreter, fixed arguments
