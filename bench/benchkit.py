"""What the benchmarks share: the web server under test, and the plumbing of a run.

`serve` is `bookdesk serve` (granian, WSGI: the production server); `gunicorn` is gunicorn's gthread
worker, kept for comparison (``--server gunicorn``). Both get the same processes × threads. The rest:
a free port, a throw-away PostgreSQL database, subprocesses stopped as a group, one-off HTTP calls.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"
SERVERS = ("serve", "gunicorn")


class BenchError(Exception):
    pass


@dataclass
class Run:
    """Latencies of one timed load run."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_base() -> tuple[str, bool]:
    """The server URL (no database) and whether it was asked for explicitly."""
    explicit = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or ""
    parts = urlsplit(explicit or DEFAULT_PG)
    return f"{parts.scheme}://{parts.netloc}", bool(explicit)


@contextmanager
def bench_database(base: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh database `name` on the server at `base`, dropped afterwards (unless `keep`), also on failure."""
    admin = f"{base}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def subprocess_running(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess (in its own process group) writing to `log`, stopped when the block ends."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then the whole group's SIGKILL after 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def request(
    base: str, method: str, path: str, payload: object = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One request on a connection of its own: (status, body)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        body = json.dumps(payload).encode() if payload is not None else None
        sent = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers={**sent, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_answers(base: str, path: str, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Until `path` answers 200; a process that exits or 30 s of silence is a BenchError with its log's tail."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{what} exited with {process.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError):
            if request(base, "GET", path)[0] == 200:
                return
        time.sleep(0.1)
    raise BenchError(f"{what} did not answer {path} within 30 s:\n{tail(log)}")


def run_checked(argv: list[str], env: dict[str, str], what: str, *, timeout: float = 300) -> str:
    """Run a setup step to its end; its stdout, or a BenchError with its output."""
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise BenchError(f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
