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
- load: client threads each with their own keep-alive connection (`Connection`), closed loop or on a
  schedule (`run_load`), and their latencies (`Run`, percentiles);
- CPU accounting from /proc by group of processes (`Cpu`).
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
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


@dataclass
class Run:
    """Latencies and failures of one load run."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)  # what went wrong (first 200 characters): how often

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def first_error(self) -> str:
        return next(iter(self.failures), "")

    @property
    def sent(self) -> int:
        return len(self.latencies) + self.errors

    def kinds(self) -> dict[str, int]:
        """The failures counted by kind: what stands before the first colon (an HTTP status, an exception)."""
        counts: dict[str, int] = {}
        for error, count in self.failures.items():
            kind = error.split(":", 1)[0][:40]
            counts[kind] = counts.get(kind, 0) + count
        return counts

    def percentile(self, q: float, minus: float = 0.0) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] - minus


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
    """A session token from allauth's headless login (X-Session-Token)."""
    status, body = request(base, "POST", "/_allauth/app/v1/auth/login", {"email": email, "password": password})
    if status != 200:
        raise BenchError(f"login answered {status}: {body[:300]!r}")
    return str(json.loads(body)["meta"]["session_token"])


# --- load ------------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection with TCP_NODELAY; reopened after the server closes it."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        self.conn: http.client.HTTPConnection | None = None

    def send(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            response = self.conn.getresponse()
            data = response.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status, data


class Exhausted(Exception):
    """Raised by a call that has nothing left to work on: its thread stops. With a message, it is a failure."""


Call = Callable[[], str | None]


def run_load(
    make_call: Callable[[], Call], concurrency: int, seconds: float = math.inf, rate: float | None = None
) -> Run:
    """``concurrency`` threads call their own ``make_call()`` for ``seconds`` (or until it raises Exhausted).

    A call returns None, or what went wrong; an exception is a failure too. Closed loop (each thread calls
    again as soon as it has its answer), or with ``rate`` an open schedule the threads share: call k is due
    at start + k / rate, and whichever thread is free takes the next due call. Its latency then runs from
    when it was due, so a call that starts late (every thread busy) counts its wait.
    """
    run = Run()
    lock = threading.Lock()
    ready = threading.Barrier(concurrency + 1)
    window = [0.0, 0.0]  # start, stop (perf_counter)
    due = itertools.count()

    def next_start() -> float | None:
        """When this thread's next call starts (waiting for it on a schedule), or None when the run is over."""
        if rate is None:
            now = time.perf_counter()
            return now if now < window[1] else None
        scheduled = window[0] + next(due) / rate
        if scheduled >= window[1]:
            return None
        time.sleep(max(0.0, scheduled - time.perf_counter()))
        return scheduled

    def worker() -> None:
        call = make_call()
        latencies: list[float] = []
        failures: dict[str, int] = {}
        ready.wait()
        while (started := next_start()) is not None:
            try:
                error = call()
            except Exhausted as exc:
                if str(exc):
                    failures[str(exc)] = failures.get(str(exc), 0) + 1
                break
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is None:
                latencies.append(time.perf_counter() - started)
            else:
                failures[error[:200]] = failures.get(error[:200], 0) + 1
        with lock:
            run.latencies.extend(latencies)
            for error, count in failures.items():
                run.failures[error] = run.failures.get(error, 0) + count

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    window[:] = [started, started + seconds]
    ready.wait()
    for thread in threads:
        thread.join(timeout=None if math.isinf(seconds) else seconds + 60)
    run.seconds = time.perf_counter() - started
    return run


# --- CPU accounting (Linux /proc) -------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of this process (all its threads) so far; None once it is gone, or without one."""
    if pid is None:
        return None
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    return None


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine so far (all cores; idle and iowait excluded)."""
    with contextlib.suppress(OSError, ValueError):
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
        return (sum(values) - values[3] - values[4]) / TICK
    return 0.0


def with_children(pids: list[int]) -> list[int]:
    """These processes and their children."""
    parents = set(pids)
    found = list(pids)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) in parents:
                    found.append(int(entry.name))
    return found


class Cpu:
    """Where the CPU of a block went, in seconds, by group of processes (and this one, and the machine).

    The groups' processes are sampled twice a second, so those that come and go during the block count
    too, up to their last sample (PostgreSQL backends do: Django reopens its connections after
    DB_CONN_MAX_AGE); a process first seen after the start counts from 0. `probes` are sampled alongside
    and averaged. `spent` has a key per group, then "bench client", "other processes" and "machine".
    """

    def __init__(
        self, groups: dict[str, Callable[[], list[int]]], probes: dict[str, Callable[[], float]] | None = None
    ) -> None:
        self.groups, self.probes = groups, probes or {}
        self.spent: dict[str, float] = {}
        self.seconds = 0.0
        self.last: dict[str, dict[int, float]] = {name: {} for name in groups}
        self.probed: dict[str, list[float]] = {name: [] for name in self.probes}
        self.done = threading.Event()

    def sample(self) -> None:
        for name, find in self.groups.items():
            for pid in sorted(set(self.last[name]) | set(find())):
                value = process_cpu(pid)
                if value is not None:
                    self.last[name][pid] = value

    def sampler(self) -> None:
        while not self.done.wait(0.5):
            self.sample()
            for name, probe in self.probes.items():
                self.probed[name].append(probe())

    def __enter__(self) -> Cpu:
        self.sample()
        self.start = {name: dict(seen) for name, seen in self.last.items()}
        self.client = sum(os.times()[:2])
        self.machine = machine_cpu()
        self.started = time.perf_counter()
        self.thread = threading.Thread(target=self.sampler, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
        self.done.set()
        self.thread.join()
        self.sample()
        for name in self.groups:
            self.spent[name] = sum(self.used(name).values())
        self.spent["bench client"] = sum(os.times()[:2]) - self.client
        machine = machine_cpu() - self.machine
        self.spent["other processes"] = max(0.0, machine - sum(self.spent.values()))
        self.spent["machine"] = machine

    def used(self, name: str) -> dict[int, float]:
        """CPU seconds of each process of the group during the block."""
        start = self.start.get(name, {})
        return {pid: seconds - start.get(pid, 0.0) for pid, seconds in self.last[name].items()}

    def busiest(self, name: str) -> float:
        """The largest share of one core (percent) a single process of the group used."""
        return max(self.used(name).values(), default=0.0) / self.seconds * 100 if self.seconds else 0.0

    def average(self, probe: str) -> float:
        values = self.probed.get(probe) or [0.0]
        return sum(values) / len(values)

    def busy(self) -> float:
        """How busy all the machine's cores were during the block, in percent."""
        cores = os.cpu_count() or 1
        return self.spent.get("machine", 0.0) / (self.seconds * cores) * 100 if self.seconds else 0.0

    def line(self, count: int, unit: str) -> str:
        """CPU milliseconds per `unit` (of `count`) by group, and how busy the machine was."""
        parts = [
            f"{name} {seconds * 1000 / max(1, count):.2f}" for name, seconds in self.spent.items() if name != "machine"
        ]
        return f"CPU ms per {unit}: " + ", ".join(parts) + f"; machine {self.busy():.0f}% busy ({os.cpu_count()} CPUs)"
