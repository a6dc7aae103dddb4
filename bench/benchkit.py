"""What the benchmarks share: the web server under test, and the plumbing of a run.

`serve` is `bookdesk serve` (granian, WSGI: the production server); `gunicorn` is gunicorn's gthread
worker, kept for comparison (``--server gunicorn``). Both get the same processes × threads. The rest:

- a run's frame (`run_bench`): PostgreSQL found or the bench skipped, a log folder, SIGTERM and Ctrl-C
  cleaning up (every process and database below is released by a ``with`` block);
- a throw-away PostgreSQL database (`bench_database`, `migrate`) and a connection of the bench's own to
  it (`Db`); the app's environment (`app_env`), and setup scripts run in it (`run_script`: Django set
  up, bench customers and roomy courses at hand);
- subprocesses stopped as a group (`subprocess_running`), servers waited for until they answer
  (`serving`, `sandbox_serving`, `web_serving`, `redis_running`);
- one-off HTTP calls (`request`), a header line for a table (`print_header`).

What the benches measure with (load, latencies, CPU) is `benchload`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"
SERVERS = ("serve", "gunicorn")


class BenchError(Exception):
    pass


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


def print_header(header: str) -> None:
    """A table's header line, and a rule under it."""
    print(header)
    print("-" * len(header))


def raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


# --- a run's frame ---------------------------------------------------------------------------


def run_bench(name: str, bench: Callable[[str, Path], int], *, keep_logs: bool = False) -> int:
    """Run `bench(pg, logs)` against the PostgreSQL server `pg_base()` names, with a fresh log folder.

    No server: the bench is skipped (exit 0), unless one was asked for explicitly (exit 1). SIGTERM and
    Ctrl-C end the bench through its ``with`` blocks (processes stopped, databases dropped); a BenchError
    is printed as FAILED (exit 1). The log folder is removed afterwards unless `keep_logs`.
    """
    pg, explicit = pg_base()
    try:
        psycopg.connect(f"{pg}/postgres", connect_timeout=3).close()
    except psycopg.Error as exc:
        if explicit:
            print(f"PostgreSQL does not answer at {pg}: {type(exc).__name__}")
            return 1
        print(f"PostgreSQL not reachable at {pg}: {name} bench skipped (set BENCH_DATABASE_URL)")
        return 0

    signal.signal(signal.SIGTERM, raise_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    logs = Path(tempfile.mkdtemp(prefix=f"bench_{name}_"))
    try:
        return bench(pg, logs)
    except BenchError as exc:
        print(f"\nFAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; cleaned up")
        return 130
    finally:
        if keep_logs:
            print(f"logs kept in {logs}")
        else:
            shutil.rmtree(logs, ignore_errors=True)


def app_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of the app's processes: DEBUG off, a fresh SECRET_KEY, the bench database, email to
    Django's locmem backend, BOOKDESK_DATA_DIR for its files, and `settings` on top.

    Nothing of this process's environment that would change the configuration under test comes along
    (REDIS_URL, GUNICORN_CMD_ARGS). BOOKDESK_PRODUCTION is off: the benches use a test key against the
    sandbox, which production (rightly) refuses in /readyz.
    """
    (data_dir / "static").mkdir(exist_ok=True)  # STATIC_ROOT (BOOKDESK_DATA_DIR/static): no warning about it missing
    skipped = ("REDIS_URL", "GUNICORN_CMD_ARGS", "PYTHONDONTWRITEBYTECODE")
    env = {key: value for key, value in os.environ.items() if key not in skipped}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bookdesk.settings",
            "DATABASE_URL": database_url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "BOOKDESK_PRODUCTION": "0",
            "BOOKDESK_DATA_DIR": str(data_dir),
            "EMAIL_URL": "locmem:",
        }
    )
    env.update(settings)
    return env


BOOKDESK = [sys.executable, "-m", "bookdesk"]


def migrate(env: dict[str, str]) -> None:
    run_checked([*BOOKDESK, "migrate", "--noinput", "-v", "0"], env, "migrate")


# What every script a bench runs in the app's environment starts with: Django set up, and the bench's
# customers and roomy courses a call away.
SCRIPT_PRELUDE = r"""
import json, sys
from datetime import timedelta

import django

django.setup()

from django.conf import settings
from django.utils import timezone


# Customers bench<i>@example.com; with a password, their addresses verified so allauth lets them log in.
def bench_users(count, password=None):
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    User = get_user_model()
    hashed = make_password(password) if password else ""
    users = User.objects.bulk_create(
        [User(email=f"bench{i}@example.com", password=hashed, first_name=f"Bench {i}") for i in range(count)]
    )
    if password:
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users]
        )
    return users


# Published courses a month ahead, an hour apart, each with room for every buyer of a run.
def roomy_courses(count):
    from bookdesk.catalog.models import Course

    starts = timezone.now() + timedelta(days=30)
    return Course.objects.bulk_create(
        [
            Course(
                title=f"Bench course {i}", slug=f"bench-course-{i}", starts_at=starts + timedelta(hours=i),
                ends_at=starts + timedelta(hours=i, minutes=90), capacity=100_000, price_amount=4500,
                currency=settings.BOOKDESK_CURRENCY,
            )
            for i in range(count)
        ]
    )
"""


def run_script(body: str, args: list[str], env: dict[str, str], what: str, *, timeout: float = 300) -> str:
    """Run `body`, after SCRIPT_PRELUDE, in a Python with the app's environment `env`: its stdout."""
    return run_checked([sys.executable, "-c", SCRIPT_PRELUDE + body, *args], env, what, timeout=timeout)


class Db:
    """A connection of the bench's own to the bench database, for checks, counts and its backends."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
        self.name = urlsplit(url).path.lstrip("/")

    def __enter__(self) -> Db:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

    def value(self, sql: str, params: Sequence[object] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def backend_pids(self) -> list[int]:
        """PostgreSQL's backend processes serving the bench database (this connection's left out)."""
        rows = self.rows("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.name])
        return [int(row[0]) for row in rows]

    def lock_waiters(self) -> float:
        """How many of the bench database's backends wait on a lock (a row lock, mostly) right now."""
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
        return float(self.value(query, [self.name]) or 0)


# --- servers ---------------------------------------------------------------------------------


@contextmanager
def serving(
    argv: list[str], env: dict[str, str], log: Path, base: str, path: str, what: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A server subprocess, once `path` answers 200 at `base`; stopped when the block ends."""
    with subprocess_running(argv, env, log) as process:
        wait_answers(base, path, process, log, what)
        yield process


def sandbox_serving(port: int, env: dict[str, str], logs: Path) -> contextlib.AbstractContextManager[Any]:
    """The Stripe sandbox (``python -m stripe_sandbox``) on 127.0.0.1:`port`, logging to logs/sandbox.log."""
    argv = [sys.executable, "-m", "stripe_sandbox", "--port", str(port)]
    return serving(argv, env, logs / "sandbox.log", f"http://127.0.0.1:{port}", "/_sandbox/health", "the sandbox")


def web_serving(
    server: str, port: int, env: dict[str, str], logs: Path, *, workers: int, threads: int
) -> contextlib.AbstractContextManager[Any]:
    """The web server under test on 127.0.0.1:`port`, once /healthz answers; logging to logs/web.log."""
    argv = server_argv(server, port=port, workers=workers, threads=threads)
    return serving(argv, env, logs / "web.log", f"http://127.0.0.1:{port}", "/healthz", "the web server")


def exited(process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """A BenchError with the log's tail if the process has exited."""
    if process.poll() is not None:
        raise BenchError(f"{what} exited with {process.returncode}:\n{tail(log)}")


@contextmanager
def redis_running(executable: str, env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private redis-server (no persistence) on a free port: its URL and process, once it answers PING."""
    port = free_port()
    argv = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    with subprocess_running(argv, env, log) as process:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            exited(process, log, "redis-server")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    break
            time.sleep(0.05)
        else:
            raise BenchError(f"redis-server did not answer within 20 s:\n{tail(log)}")
        yield f"redis://127.0.0.1:{port}/0", process


def login_token(base: str, email: str, password: str) -> str:
    """A session token from allauth's headless login (X-Session-Token). allauth allows 30 sign-ins a minute
    per IP, and every customer of a bench shares one: a 429 is waited out, as a real client would."""
    for wait in (5, 10, 20, 30, 30, 0):
        status, body = request(base, "POST", "/_allauth/app/v1/auth/login", {"email": email, "password": password})
        if status != 429 or not wait:
            break
        time.sleep(wait)
    if status != 200:
        raise BenchError(f"login answered {status}: {body[:300]!r}")
    return str(json.loads(body)["meta"]["session_token"])
