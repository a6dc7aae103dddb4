"""Benchmark checkout creation (POST /api/stripe/checkout) while Stripe answers in 300 ms.

    python bench/bench_checkout.py [--seconds 6] [--concurrency 1,16,64] [--server serve|gunicorn]
                                   [--workers 2×cores] [--threads 16] [--cache redis|db] [--latency-ms 300]
                                   [--paced 100] [--quick] [--keep-logs]

Against PostgreSQL (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432;
a throw-away database ``bookdesk_bench_<pid>`` is created, migrated and dropped at the end). Starts, as
subprocesses, the Stripe sandbox (``python -m stripe_sandbox``; latency set through ``POST /_sandbox/faults``),
a private redis-server for the shared cache (REDIS_URL, as production runs more than one process; the
database cache with ``--cache db``) and the production server: ``bookdesk serve`` (granian, WSGI; ``--server
gunicorn`` for gunicorn's gthread worker instead), DEBUG off. Then, for each concurrency (client threads,
each with its own keep-alive ``http.client`` connection):

1. ``GET /healthz`` on the same server: the bare endpoint (req/s, p50/p95);
2. the sandbox alone: the SDK's ``checkout.sessions.create`` straight from this process at the same
   concurrency, i.e. Stripe's answer time (p50/p95);
3. ``POST /api/stripe/checkout``: sessions/s, p50/p95 total latency, and the app's own share
   (each request's latency minus the sandbox's p50 from 2.), with ratios against ``/healthz``;
4. where the CPU went during 3. (the web server, this database's PostgreSQL backends, sandbox, Redis, this
   client, other processes), per checkout, and the ceiling that puts on sessions/s;
5. the target load (``--paced``, default 100/s): the most clients offering that many checkouts a second on
   a schedule instead of as fast as they can, so the own share shows what the app adds at the target
   rate (at 64 closed-loop clients past saturation it is mostly their queue: 64 / rate - 0.3 s);
6. the crowd (DESIGN §8): 200 buyers released at once for a course of 10 seats — exactly 10 answers 201,
   190 ``sold_out``, nothing else, and 10 seats held in the database.

Every checkout is a distinct (user, course) pair, so none is ``already_booked``; any answer other
than 201 is reported and fails the run. Users get their session tokens straight from the session
store (what allauth's headless login issues; one user logs in through the API to prove it), since
allauth limits logins to 30 a minute per IP. Bounded in time (about a minute); Ctrl-C cleans up.

Target (DESIGN §8): ≥ 100 sessions/s at 64 clients, own share p95 ≤ 40 ms.
"""

from __future__ import annotations

import argparse
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
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import stripe

from benchkit import (
    SERVERS,
    BenchError,
    bench_database,
    free_port,
    ms,
    pg_base,
    raise_on_sigterm,
    request,
    run_checked,
    server_argv,
    server_label,
    subprocess_running,
    tail,
    wait_answers,
)

TARGET_RATE = 100.0  # sessions/s at 64 clients
TARGET_OWN_P95 = 0.040  # seconds
USERS = 256  # a power of two; the number of courses is odd, so (k % users, k % courses) never repeats
# DESIGN §8: this many buyers at once for this many seats end as exactly that many bookings, the rest sold_out.
CROWD, CROWD_SEATS = 200, 10
PASSWORD = "bench-Passw0rd-not-secret"

# Run inside the server's environment (DJANGO_SETTINGS_MODULE, DATABASE_URL): users with verified
# email addresses and session tokens, and courses with room for everyone. Prints JSON.
SETUP_SCRIPT = r"""
import json, sys
from datetime import timedelta
from importlib import import_module

import django

django.setup()

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from bookdesk.catalog.models import Course

users_count, courses_count, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
User = get_user_model()
hashed = make_password(password)
users = User.objects.bulk_create(
    [User(email=f"bench{i}@example.com", password=hashed, first_name=f"Bench {i}") for i in range(users_count)]
)
EmailAddress.objects.bulk_create(
    [EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users]
)
starts = timezone.now() + timedelta(days=30)
courses = Course.objects.bulk_create(
    [
        Course(
            title=f"Bench course {i}", slug=f"bench-course-{i}", starts_at=starts + timedelta(hours=i),
            ends_at=starts + timedelta(hours=i, minutes=90), capacity=100_000, price_amount=4500,
            currency=settings.BOOKDESK_CURRENCY,
        )
        for i in range(courses_count)
    ]
)
store = import_module(settings.SESSION_ENGINE).SessionStore
tokens = []
for user in users[1:]:
    session = store()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # what a login through it records
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    tokens.append(session.session_key)
crowd = Course.objects.create(
    title="Crowd course", slug="crowd-course", starts_at=starts, ends_at=starts + timedelta(minutes=90),
    capacity=int(sys.argv[4]), price_amount=4500, currency=settings.BOOKDESK_CURRENCY,
)
found = {"login_email": users[0].email, "tokens": tokens, "courses": [c.pk for c in courses], "crowd": crowd.pk}
print(json.dumps(found))
"""


@dataclass
class Run:
    """Latencies of one timed load run."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float, minus: float = 0.0) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] - minus


# --- processes and the database --------------------------------------------------------------


def lock_waiters(admin: psycopg.Connection[Any], database_url: str) -> float:
    """How many of the bench database's backends wait on a lock (a row lock, mostly) right now."""
    name = urlsplit(database_url).path.lstrip("/")
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
    row = admin.execute(query, [name]).fetchone()
    return float(row[0]) if row else 0.0


def backend_pids(admin: psycopg.Connection[Any], database_url: str) -> list[int]:
    """PostgreSQL's backend processes serving the bench database."""
    name = urlsplit(database_url).path.lstrip("/")
    rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]).fetchall()
    return [int(row[0]) for row in rows]


# --- CPU accounting (Linux /proc) -------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of this process (all its threads) so far; None once it is gone."""
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


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


@dataclass
class CpuParts:
    """Where the CPU of one run went, in seconds, by group of processes (and this one, and the machine).

    Sampled every half second, so processes that come and go during the run count too (PostgreSQL
    backends do: Django reopens its connections after DB_CONN_MAX_AGE).
    """

    groups: dict[str, Callable[[], list[int]]]
    probes: dict[str, Callable[[], float]] = field(default_factory=dict)  # averaged over the samples
    spent: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.probed: dict[str, list[float]] = {name: [] for name in self.probes}
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.stop = threading.Event()
        self.sampler = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def _sample(self, starting: bool) -> None:
        for name, find in self.groups.items():
            for pid in find():
                value = process_cpu(pid)
                if value is not None:
                    self.first.setdefault((name, pid), value if starting else 0.0)
                    self.last[(name, pid)] = value

    def _sample_until_stopped(self) -> None:
        while not self.stop.wait(0.5):
            self._sample(starting=False)
            for name, probe in self.probes.items():
                self.probed[name].append(probe())

    def average(self, name: str) -> float:
        values = self.probed.get(name) or [0.0]
        return sum(values) / len(values)

    def __enter__(self) -> CpuParts:
        self._sample(starting=True)
        self.client = sum(os.times()[:2])
        self.machine = machine_cpu()
        self.started = time.perf_counter()
        self.sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.sampler.join()
        self._sample(starting=False)
        for name in self.groups:
            self.spent[name] = sum(value - self.first[key] for key, value in self.last.items() if key[0] == name)
        self.seconds = time.perf_counter() - self.started
        self.spent["bench client"] = sum(os.times()[:2]) - self.client
        self.spent["machine"] = machine_cpu() - self.machine
        self.spent["other processes"] = max(
            0.0, self.spent["machine"] - sum(v for k, v in self.spent.items() if k != "machine")
        )

    def busiest(self, name: str) -> float:
        """The largest share of one core (percent) a single process of the group used."""
        spent = [value - self.first[key] for key, value in self.last.items() if key[0] == name]
        return max(spent, default=0.0) / self.seconds * 100 if self.seconds else 0.0


def wait_redis(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"redis-server exited with {process.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            if sock.recv(64).startswith(b"+PONG"):
                return
        time.sleep(0.05)
    raise BenchError(f"redis-server did not answer within 20 s:\n{tail(log)}")


# --- load ------------------------------------------------------------------------------------


def run_load(
    make_call: Callable[[], Callable[[], str | None]], concurrency: int, seconds: float, rate: float | None = None
) -> Run:
    """``concurrency`` threads call their own ``make_call()`` for ``seconds``; a call returns None or an error.

    Closed loop (each thread calls again as soon as it has its answer), or with ``rate`` an open schedule the
    threads share: call k is due at start + k / rate, and whichever thread is free takes the next due call. Its
    latency then runs from when it was due, so a call that starts late (every thread busy) counts its wait.
    """
    run = Run()
    lock = threading.Lock()
    ready = threading.Barrier(concurrency + 1)
    stop_at = [0.0]
    due = itertools.count()

    def next_start() -> float | None:
        """When this thread's next call starts (waiting for it on a schedule), or None when the run is over."""
        if rate is None:
            now = time.perf_counter()
            return now if now < stop_at[0] else None
        scheduled = stop_at[0] - seconds + next(due) / rate
        if scheduled >= stop_at[0]:
            return None
        time.sleep(max(0.0, scheduled - time.perf_counter()))
        return scheduled

    def worker() -> None:
        call = make_call()
        latencies: list[float] = []
        errors: dict[str, int] = {}
        ready.wait()
        while (started := next_start()) is not None:
            try:
                error = call()
            except StopIteration:
                error = "ran out of (user, course) pairs"
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is None:
                latencies.append(time.perf_counter() - started)
                continue
            errors[error] = errors.get(error, 0) + 1
            if error.startswith("ran out"):
                break
        with lock:
            run.latencies.extend(latencies)
            for error, count in errors.items():
                run.errors += count
                run.first_error = run.first_error or error
                kind = error.split(":", 1)[0][:40]
                run.statuses[kind] = run.statuses.get(kind, 0) + count

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    stop_at[0] = started + seconds
    ready.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    run.seconds = time.perf_counter() - started
    return run


class Connection:
    """One keep-alive HTTP/1.1 connection; reopened after the server closes it."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.conn.connect()
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[union-attr]
        try:
            self.conn.request(method, path, body=body, headers=headers)
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


def healthz_call(base: str) -> Callable[[], Callable[[], str | None]]:
    def make() -> Callable[[], str | None]:
        connection = Connection(base)

        def call() -> str | None:
            status, body = connection.send("GET", "/healthz", None, {})
            return None if status == 200 else f"{status}: GET /healthz {body[:160]!r}"

        return call

    return make


def checkout_call(base: str, pairs: Pairs) -> Callable[[], Callable[[], str | None]]:
    def make() -> Callable[[], str | None]:
        connection = Connection(base)

        def call() -> str | None:
            token, course_id = next(pairs)
            body = json.dumps({"course_id": course_id}).encode()
            headers = {"Content-Type": "application/json", "X-Session-Token": token}
            status, answer = connection.send("POST", "/api/stripe/checkout", body, headers)
            if status != 201:
                return f"{status}: POST /api/stripe/checkout {answer[:200]!r}"
            if b'"checkout_url"' not in answer:
                return f"201 without checkout_url: {answer[:200]!r}"
            return None

        return call

    return make


def sandbox_call(base: str) -> Callable[[], Callable[[], str | None]]:
    """The SDK's session create straight to the sandbox, shaped like the app's (lines, metadata, key)."""
    params = {
        "mode": "payment",
        "client_reference_id": "BENCH",
        "customer_email": "bench@example.com",
        "expires_at": int(time.time()) + 3600,
        "success_url": "http://127.0.0.1:8000/payment/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:8000/payment/cancel?order=BENCH",
        "metadata": {"order": "BENCH", "user": "1", "type": "course", "total": "4500", "currency": "eur"},
        "payment_intent_data": {"metadata": {"order": "BENCH"}},
        "line_items": [
            {
                "quantity": 1,
                "price_data": {"currency": "eur", "unit_amount": 4500, "product_data": {"name": "Bench course"}},
            }
        ],
    }

    def make() -> Callable[[], str | None]:
        client = stripe.StripeClient(
            "sk_test_bench",
            base_addresses={"api": base},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=(3.05, 15)),
        )

        def call() -> str | None:
            options = {"idempotency_key": f"bench:{uuid.uuid4().hex}"}
            client.v1.checkout.sessions.create(params=params, options=options)  # type: ignore[arg-type]
            return None

        return call

    return make


class Pairs:
    """Every (user, course) pair once, neighbours differing in both (so concurrent requests spread out).

    With coprime counts, k → (k mod users, k mod courses) is one-to-one for k < users × courses.
    """

    def __init__(self, tokens: list[str], courses: list[int]) -> None:
        self.tokens, self.courses = tokens, courses
        self.counter = itertools.count()  # next() on it is atomic under the GIL

    def __iter__(self) -> Pairs:
        return self

    def __next__(self) -> tuple[str, int]:
        k = next(self.counter)
        if k >= len(self.tokens) * len(self.courses):
            raise StopIteration
        return self.tokens[k % len(self.tokens)], self.courses[k % len(self.courses)]


# --- the bench -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="duration of each load run (default 6)")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated client counts (default 1,16,64)")
    parser.add_argument("--server", choices=SERVERS, default="serve", help="web server (default: bookdesk serve)")
    workers = 2 * (os.cpu_count() or 1)  # bookdesk serve's own defaults (WEB_WORKERS, WEB_THREADS)
    parser.add_argument("--workers", type=int, default=workers, help=f"web server processes (default {workers})")
    parser.add_argument("--threads", type=int, default=16, help="web server threads per process (default 16)")
    parser.add_argument("--latency-ms", type=int, default=300, help="the sandbox's latency fault (default 300)")
    parser.add_argument(
        "--cache",
        choices=("redis", "db"),
        default="redis",
        help="the shared cache behind rate limits: a private redis-server (REDIS_URL, default), or the database",
    )
    parser.add_argument(
        "--paced",
        type=float,
        default=TARGET_RATE,
        help="then the most clients offering this many sessions/s on a schedule: the own share at that load"
        f" (default {TARGET_RATE:g}; 0 = skip)",
    )
    parser.add_argument("--quick", action="store_true", help="short runs (2 s) for a smoke test")
    parser.add_argument("--keep-logs", action="store_true", help="keep the server and sandbox logs and print where")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.quick else args.seconds
    levels = [int(level) for level in args.concurrency.split(",") if level.strip()]

    base_url, explicit = pg_base()
    try:
        psycopg.connect(f"{base_url}/postgres", connect_timeout=3).close()
    except psycopg.Error as exc:
        if explicit:
            print(f"PostgreSQL does not answer at {base_url}: {type(exc).__name__}")
            return 1
        print(f"PostgreSQL not reachable at {base_url}: checkout bench skipped (set BENCH_DATABASE_URL)")
        return 0

    signal.signal(signal.SIGTERM, raise_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    logs = Path(tempfile.mkdtemp(prefix="bench_checkout_"))
    try:
        return bench(args, seconds, levels, base_url, logs)
    except BenchError as exc:
        print(f"\nFAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; cleaned up")
        return 130
    finally:
        if args.keep_logs:
            print(f"logs kept in {logs}")
        else:
            shutil.rmtree(logs, ignore_errors=True)


def bench(args: argparse.Namespace, seconds: float, levels: list[int], pg: str, logs: Path) -> int:
    python = sys.executable
    # Enough pairs for every run at the most a 300 ms round trip allows (and 400/s at 0 ms), with room to spare.
    budget = sum(levels) / max(0.05, args.latency_ms / 1000) * (seconds + 1) + 400 * seconds + 64 * 4 + 16
    courses_count = max(3, math.ceil(budget * 1.5 / USERS)) | 1  # odd: coprime with USERS

    (logs / "static").mkdir()  # STATIC_ROOT (BOOKDESK_DATA_DIR/static): no warning about it missing
    with bench_database(pg, f"bookdesk_bench_{os.getpid()}") as database_url:
        sandbox_port, web_port = free_port(), free_port()
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        web = f"http://127.0.0.1:{web_port}"
        # The configuration under test is spelled out here and in the server's arguments, nowhere else.
        env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "GUNICORN_CMD_ARGS")}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "bookdesk.settings",
                "DATABASE_URL": database_url,
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(50),
                # A test key against the sandbox: BOOKDESK_PRODUCTION=1 would (rightly) refuse it in /readyz.
                "BOOKDESK_PRODUCTION": "0",
                "BOOKDESK_DATA_DIR": str(logs),
                "STRIPE_API_BASE": sandbox,
                "STRIPE_SECRET_KEY": "sk_test_bench",
                "STRIPE_WEBHOOK_SECRET": "whsec_bench",
                "EMAIL_URL": "locmem:",
                "RATE_LIMIT_CHECKOUT": "1000000/60",
                "RATE_LIMIT_CHECKOUT_IP": "1000000/60",
                "RATE_LIMIT_API": "1000000/60",
            }
        )
        stack = contextlib.ExitStack()
        with stack:
            # Redis first: with REDIS_URL the sessions the setup writes go through it too.
            redis_process = None
            redis_server = shutil.which("redis-server") if args.cache == "redis" else None
            if redis_server:
                redis_port = free_port()
                redis_argv = [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]
                redis_process = stack.enter_context(subprocess_running(redis_argv, env, logs / "redis.log"))
                wait_redis(redis_port, redis_process, logs / "redis.log")
                env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            elif args.cache == "redis":
                print("redis-server not found (apt-get install redis-server): the cache is the database's")

            started = time.perf_counter()
            run_checked([python, "-m", "bookdesk", "migrate", "--noinput", "-v", "0"], env, "migrate")
            setup = json.loads(
                run_checked(
                    [python, "-c", SETUP_SCRIPT, str(USERS), str(courses_count), PASSWORD, str(CROWD_SEATS)],
                    env,
                    "setup",
                ).strip()
            )
            tokens: list[str] = setup["tokens"]
            courses: list[int] = setup["courses"]

            sandbox_argv = [python, "-m", "stripe_sandbox", "--port", str(sandbox_port)]
            web_argv = server_argv(args.server, port=web_port, workers=args.workers, threads=args.threads)
            sandbox_process = stack.enter_context(subprocess_running(sandbox_argv, env, logs / "sandbox.log"))
            web_process = stack.enter_context(subprocess_running(web_argv, env, logs / "web.log"))
            wait_answers(sandbox, "/_sandbox/health", sandbox_process, logs / "sandbox.log", "the sandbox")
            status, body = request(sandbox, "POST", "/_sandbox/faults", {"latency_ms": args.latency_ms})
            if status != 200 or json.loads(body).get("latency_ms") != args.latency_ms:
                raise BenchError(f"POST /_sandbox/faults answered {status}: {body[:200]!r}")
            wait_answers(web, "/healthz", web_process, logs / "web.log", "the web server")

            # One user through allauth's headless login, to show the tokens are the real thing.
            status, body = request(
                web, "POST", "/_allauth/app/v1/auth/login", {"email": setup["login_email"], "password": PASSWORD}
            )
            if status != 200:
                raise BenchError(f"login answered {status}: {body[:300]!r}")
            tokens.insert(0, json.loads(body)["meta"]["session_token"])
            pairs = Pairs(tokens, courses)
            cache = "Redis" if redis_process else "the database"
            print(
                f"bookdesk on {server_label(args.server, workers=args.workers, threads=args.threads)}, DEBUG off, "
                f"PostgreSQL {pg}, cache (rate limits) in {cache}; sandbox latency {args.latency_ms} ms; "
                f"{os.cpu_count()} CPUs"
            )
            print(
                f"{len(tokens)} users x {len(courses)} courses; load runs of {seconds:g} s; "
                f"setup {time.perf_counter() - started:.1f} s\n"
            )

            # Warm-up: every server thread opens its database and Stripe connections, imports settle.
            warm = max(levels)
            for make in (healthz_call(web), checkout_call(web, pairs)):
                run = run_load(make, warm, 1.0 if args.quick else 2.0)
                if run.errors:
                    raise BenchError(f"warm-up: {run.errors} errors, first: {run.first_error}")

            admin = stack.enter_context(psycopg.connect(f"{pg}/postgres", autocommit=True, connect_timeout=5))
            groups: dict[str, Callable[[], list[int]]] = {
                "web server (app)": lambda: [web_process.pid, *children(web_process.pid)],
                "postgres": lambda: backend_pids(admin, database_url),
                "sandbox": lambda: [sandbox_process.pid],
            }
            if redis_process is not None:
                groups["redis"] = lambda: [redis_process.pid]
            probes = {"lock waiters": lambda: lock_waiters(admin, database_url)}
            results = []
            cpu = []
            for concurrency in levels:
                health = run_load(healthz_call(web), concurrency, seconds)
                direct = run_load(sandbox_call(sandbox), concurrency, seconds)
                with CpuParts(groups, probes) as parts:
                    checkout = run_load(checkout_call(web, pairs), concurrency, seconds)
                results.append((concurrency, health, direct, checkout))
                cpu.append((concurrency, checkout, parts))
                if web_process.poll() is not None:
                    raise BenchError(f"the web server exited with {web_process.returncode}:\n{tail(logs / 'web.log')}")
            # The same load with Stripe answering at once: what the stack can do when nothing waits.
            request(sandbox, "POST", "/_sandbox/faults", {"latency_ms": 0})
            top = max(levels)
            with CpuParts(groups, probes) as parts:
                capacity = run_load(checkout_call(web, pairs), top, seconds)
            status = report(results, args.latency_ms)
            at_top, top_parts = results[-1][3], cpu[-1][2]
            print(
                f"\nwith the sandbox at 0 ms, {top} clients: {capacity.rate:.1f} sessions/s, p50 "
                f"{ms(capacity.percentile(0.5))} ms, p95 {ms(capacity.percentile(0.95))} ms, {capacity.errors} errors"
                f" (vs {at_top.rate:.1f}/s at {args.latency_ms} ms)"
            )
            busy = machine_busy(top_parts, at_top)
            worker = top_parts.busiest("web server (app)")
            waiting = top_parts.average("lock waiters")
            if busy >= 90:
                verdict = f"CPU-bound: the machine was {busy:.0f}% busy; more threads or async would not help"
            elif waiting >= 1:
                verdict = f"lock-bound: {waiting:.1f} PostgreSQL backends waited on a lock, on average"
            elif capacity.rate > at_top.rate * 1.25:
                verdict = f"waiting on Stripe: the machine was {busy:.0f}% busy; more threads (or async) would help"
            else:
                verdict = (
                    f"short of CPU without saturating it: the machine {busy:.0f}% busy, the busiest worker"
                    f" {worker:.0f}% of a core,\n  {waiting:.1f} backends waiting on locks on average. Most likely"
                    " the GIL: a worker runs one thread at a time and\n  loses time handing it between 30-odd threads,"
                    " and keep-alive clients stay with one worker, unevenly.\n  More threads or async would not help;"
                    " less CPU per checkout (or more cores) would"
                )
            print(f"at {top} clients and {args.latency_ms} ms the server is {verdict}")
            if capacity.errors:
                print(f"      first error: {capacity.first_error[:200]}")
                status = 1
            report_cpu([*cpu, (top, capacity, parts)], labels=[*(str(c) for c in levels), f"{top}@0ms"])
            request(sandbox, "POST", "/_sandbox/faults", {"latency_ms": args.latency_ms})
            if args.paced:
                direct = run_load(sandbox_call(sandbox), top, seconds)
                paced = run_load(checkout_call(web, pairs), top, seconds, rate=args.paced)
                stripe_p50 = direct.percentile(0.5)
                own95 = paced.percentile(0.95, stripe_p50)
                print(
                    f"\nat the target load: {top} clients offering {args.paced:g} sessions/s (an open schedule, latency"
                    f" from each call's due time): {len(paced.latencies)} of {round(args.paced * seconds)} done,"
                    f" p50 {ms(paced.percentile(0.5))} ms,"
                    f" p95 {ms(paced.percentile(0.95))} ms, own share p50 {ms(paced.percentile(0.5, stripe_p50))}"
                    f" / p95 {ms(own95)} ms (target p95 <= {TARGET_OWN_P95 * 1000:.0f} ms: "
                    f"{'MET' if own95 <= TARGET_OWN_P95 and not paced.errors else 'MISSED'}), {paced.errors} errors"
                )
                if paced.errors:
                    print(f"      first error: {paced.first_error[:200]}")
                    status = 1
            if not crowd_run(web, tokens[:CROWD], setup["crowd"], database_url, args.latency_ms):
                status = 1
            return status


def crowd_run(base: str, tokens: list[str], course_id: int, database_url: str, latency_ms: int) -> bool:
    """All buyers at once for the crowd course's seats: exactly that many bookings, every other one sold_out."""
    if len(tokens) < CROWD:
        raise BenchError(f"only {len(tokens)} users for a crowd of {CROWD}")
    barrier = threading.Barrier(CROWD)
    answers: list[tuple[str, float]] = [("", 0.0)] * CROWD

    def buy(index: int) -> None:
        barrier.wait(timeout=60)
        started = time.perf_counter()
        try:
            status, body = request(
                base, "POST", "/api/stripe/checkout", {"course_id": course_id}, {"X-Session-Token": tokens[index]}
            )
            code = "created" if status == 201 else str(json.loads(body).get("code") if status < 500 else status)
        except (OSError, ValueError) as exc:
            code = type(exc).__name__
        answers[index] = (code, time.perf_counter() - started)

    threads = [threading.Thread(target=buy, args=(index,)) for index in range(CROWD)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - started
    counts = Counter(code for code, _ in answers)
    latencies = sorted(seconds for _, seconds in answers)
    with psycopg.connect(database_url, autocommit=True) as db:
        row = db.execute(
            "SELECT count(*) FROM orders_booking WHERE course_id = %s AND status IN ('held', 'confirmed')",
            [course_id],
        ).fetchone()
    held = int(row[0]) if row else -1
    wanted = {"created": CROWD_SEATS, "sold_out": CROWD - CROWD_SEATS}
    ok = counts == wanted and held == CROWD_SEATS
    print(
        f"\ncrowd (DESIGN §8): {CROWD} buyers at once for {CROWD_SEATS} seats, sandbox at {latency_ms} ms: "
        + ", ".join(f"{n} {code}" for code, n in counts.most_common())
        + f"; {held} seats held in the database; p50 {latencies[CROWD // 2] * 1000:.0f} ms, "
        f"p95 {latencies[int(CROWD * 0.95)] * 1000:.0f} ms, all answered in {elapsed:.1f} s: "
        + ("OK" if ok else f"WRONG (expected {wanted})")
    )
    return ok


def machine_busy(parts: CpuParts, run: Run) -> float:
    """How busy all the machine's cores were during the run, in percent."""
    return parts.spent.get("machine", 0.0) / (run.seconds * (os.cpu_count() or 1)) * 100 if run.seconds else 0.0


def report_cpu(cpu: list[tuple[int, Run, CpuParts]], labels: list[str]) -> None:
    if not cpu or not cpu[0][2].spent.get("machine"):
        return
    names = [name for name in cpu[0][2].spent if name != "machine"]
    print(
        "\nCPU per checkout (ms, all cores) during the checkout runs; how busy the machine was, and the busiest"
        "\nbusiest web server process (percent of one core: a Python process runs one thread at a time):"
    )
    header = (
        f"{'conc':>8}  "
        + "".join(f"{name:>16}" for name in names)
        + f"{'total':>10}{'machine busy':>14}{'top worker':>12}"
    )
    print(header)
    print("-" * len(header))
    cores = os.cpu_count() or 1
    for label, (_, run, parts) in zip(labels, cpu, strict=True):
        count = max(1, len(run.latencies))
        cells = "".join(f"{parts.spent[name] * 1000 / count:16.1f}" for name in names)
        busy = machine_busy(parts, run)
        worker = parts.busiest("web server (app)")
        print(f"{label:>8}  {cells}{parts.spent['machine'] * 1000 / count:10.1f}{busy:13.0f}%{worker:11.0f}%")
    _, run, parts = cpu[-2] if len(cpu) > 1 else cpu[-1]  # the most clients, Stripe at its latency
    ours = sum(v for k, v in parts.spent.items() if k not in ("machine", "other processes"))
    if run.latencies and ours:
        ceiling = cores / (ours / len(run.latencies))
        print(
            f"CPU ceiling: {cores} cores / {ours * 1000 / len(run.latencies):.1f} ms of this stack's CPU per checkout"
            f" = {ceiling:.0f} sessions/s at most, whatever the server model (other processes excluded)."
        )


def report(results: list[tuple[int, Run, Run, Run]], latency_ms: int) -> int:
    header = (
        f"{'conc':>4}  {'endpoint':<28}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'own p50':>9}{'own p95':>9}{'errors':>8}{'rate/hz':>9}{'p50/hz':>8}"
    )
    print(header)
    print("-" * len(header))
    failed = False
    verdict = ""
    for concurrency, health, direct, checkout in results:
        stripe_p50 = direct.percentile(0.5)
        rows = (
            ("GET /healthz", health, "", ""),
            ("sandbox sessions.create", direct, "", ""),
            (
                "POST /api/stripe/checkout",
                checkout,
                ms(checkout.percentile(0.5, stripe_p50)),
                ms(checkout.percentile(0.95, stripe_p50)),
            ),
        )
        for name, run, own50, own95 in rows:
            ratios = ""
            if run is checkout and health.rate and health.latencies:
                ratios = f"{run.rate / health.rate:9.3f}{run.percentile(0.5) / health.percentile(0.5):8.0f}"
            print(
                f"{concurrency:>4}  {name:<28}{run.rate:8.1f}{ms(run.percentile(0.5)):>9}{ms(run.percentile(0.95)):>9}"
                f"{own50:>9}{own95:>9}{run.errors:>8}{ratios}"
            )
        for name, run, _, _ in rows:
            if run.errors:
                failed = True
                counts = ", ".join(f"{kind} x{count}" for kind, count in sorted(run.statuses.items()))
                print(f"      {name}: {counts}; first: {run.first_error[:200]}")
        if concurrency == 64:
            own95 = checkout.percentile(0.95, stripe_p50)
            met = checkout.rate >= TARGET_RATE and not checkout.errors
            verdict = (
                f"target throughput at 64 clients (>= {TARGET_RATE:.0f} sessions/s): {'MET' if met else 'MISSED'}"
                f" ({checkout.rate:.1f} sessions/s); their own share, p95 {ms(own95)} ms, is mostly their queue"
                f" (64 / rate - 0.3 s):\nthe own-share target (p95 <= {TARGET_OWN_P95 * 1000:.0f} ms) is judged at"
                " the target load, below"
            )
    print(
        f"\nown share = a checkout's latency minus the sandbox's p50 answer time at the same concurrency, measured"
        f"\nfrom this process with the SDK (sandbox latency fault {latency_ms} ms; one Stripe call per checkout)."
        "\nrate/hz and p50/hz: checkout against GET /healthz on the same server at the same concurrency."
    )
    if verdict:
        print(verdict)
    if failed:
        print("FAILED: some requests did not succeed (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
