"""What the benchmarks share: the web server under test, started the way production starts it.

`serve` is `bookdesk serve` (granian, WSGI: the production server); `gunicorn` is gunicorn's gthread
worker, kept for comparison (``--server gunicorn``). Both get the same processes × threads.
"""

from __future__ import annotations

import sys

SERVERS = ("serve", "gunicorn")


def server_argv(server: str, *, port: int, workers: int, threads: int) -> list[str]:
    """The command line of the web server under test, listening on 127.0.0.1:`port`."""
    if server == "gunicorn":
        return [
            *(sys.executable, "-m", "gunicorn", "bookdesk.wsgi:application", "--worker-class", "gthread"),
            *("--workers", str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{port}"),
        ]
    return [
        *(sys.executable, "-m", "bookdesk", "serve", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", str(workers), "--threads", str(threads)),
    ]


def server_label(server: str, *, workers: int, threads: int) -> str:
    name = "gunicorn gthread" if server == "gunicorn" else "bookdesk serve (granian, WSGI)"
    return f"{name}, {workers} workers x {threads} threads"
