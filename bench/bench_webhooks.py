"""Benchmark webhook intake (verify + store) and fulfilment by `bookdesk worker`, on PostgreSQL.

    python bench/bench_webhooks.py [--events 4000] [--concurrency 1,8,32] [--orders 800] [--quick] [--profile]

Against PostgreSQL (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432;
a throw-away database ``bookdesk_bench_webhooks_<pid>`` is created, migrated and dropped at the end, also
on failure and Ctrl-C). Starts the Stripe sandbox (``python -m stripe_sandbox``) and the production
server (``bookdesk serve``: granian, WSGI; ``--server gunicorn`` for gunicorn's gthread worker), DEBUG
off, as subprocesses, then:

1. Intake: at each concurrency (client threads, each with its own keep-alive ``http.client``
   connection), POSTs ``--events`` distinct ``customer.created`` events, each signed as Stripe signs
   (``Stripe-Signature: t=…,v1=HMAC-SHA256``) to ``POST /api/stripe/webhook``, and as many
   ``GET /healthz`` (the bare endpoint on the same server) — events/s, p50/p95/p99, ratios. No worker
   runs meanwhile; every answer must be 200 ``{"received": true, "duplicate": false}``, and the inbox
   must then hold exactly one row per event, received and due for a worker.
2. Fulfilment: ``2 × --orders`` orders placed through the real services (``order_place`` +
   ``checkout_start``, which creates each Checkout Session in the sandbox), every session paid
   through the sandbox's test helper, and its ``checkout.session.completed`` event taken from the
   sandbox's ``GET /v1/events``. Per round (first one ``bookdesk worker`` process, then two, each
   round with fresh orders): the round's events are POSTed signed to the intake and held back (their
   ``next_attempt_at`` set far ahead); the worker processes start (``--interval`` between idle polls);
   once they poll, the events are made due and the bench polls the database until every order is
   ``confirmed`` and its confirmation email ``sent``. Each worker applies the events and sends the
   confirmation emails they queue (to Django's locmem backend). Throughput is taken from the
   database's own clock: orders confirmed and emailed, over the time from the release to the last
   ``processed_at`` or ``sent_at`` stamp (workers apply events in batches, so the stamps of the first
   and last events alone would leave a batch's time out); the time from release to done as the bench
   saw it is shown too. The sandbox's
   ``sessions.retrieve`` (expanded) speed is measured alongside, for what a re-read costs.
3. CPU per event / per order by process group (app server or worker, PostgreSQL, sandbox, this
   client, everything else on the machine), and the ceiling that CPU cost sets, so a missed target
   says where the time went. ``--profile`` adds a round of one worker under cProfile and prints
   where its main thread spent its time, per order.

Each intake run stops after 25 s and each round after 75 s (a slow round is reported, not failed), so
the whole run stays within 5 minutes on a slow or busy machine; ``--quick`` takes about 40 s. Exits 1
if any request or event went wrong.

Targets (DESIGN §8): intake ≥ 800 events/s; fulfilment ≥ 200 orders/s per worker.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import http.client
import itertools
import json
import os
import pstats
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psycopg

from benchkit import (
    SERVERS,
    BenchError,
    bench_database,
    free_port,
    ms,
    pg_base,
    raise_on_sigterm,
    run_checked,
    server_argv,
    server_label,
    subprocess_running,
    tail,
    wait_answers,
)

WEBHOOK_SECRET = "whsec_bench_webhooks"
STRIPE_KEY = "sk_test_bench_webhooks"
TARGET_INTAKE = 800.0  # events/s
TARGET_FULFIL = 200.0  # orders/s per worker
HELD = "2999-01-01T00:00:00Z"  # a next_attempt_at no worker picks up yet
INTAKE_SECONDS = 25.0  # at most, per load run: the whole bench stays within 5 minutes on a slow machine
ROUND_SECONDS = 75.0  # at most, per fulfilment round
USERS = 64  # a power of two; the number of courses is odd, so (k % users, k % courses) never repeats

# Run in the server's environment: users and roomy courses, then `total` orders placed and their
# Checkout Sessions created through the real services, by a few threads. Prints the session ids as JSON.
SETUP_SCRIPT = r"""
import json, sys, threading
from datetime import timedelta

import django

django.setup()

from django.conf import settings
from django.db import connections
from django.utils import timezone

from bookdesk.accounts.models import User
from bookdesk.catalog.models import Course
from bookdesk.orders.services import ItemRequest, order_place
from bookdesk.payments.checkout import checkout_start

users_count, courses_count, total, threads = (int(arg) for arg in sys.argv[1:5])
users = User.objects.bulk_create(
    [User(email=f"bench{i}@example.com", first_name=f"Bench {i}") for i in range(users_count)]
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
sessions = [""] * total
errors = []

def place(offset):
    try:
        for k in range(offset, total, threads):
            user, course = users[k % users_count], courses[k % courses_count]
            order = order_place(user=user, items=[ItemRequest(kind="course", course_id=course.pk)])
            sessions[k] = checkout_start(order=order, actor=f"user:{user.pk}").session_id
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        connections.close_all()

workers = [threading.Thread(target=place, args=(i,)) for i in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
if errors:
    sys.exit("setup failed: " + errors[0])
print(json.dumps(sessions))
"""


@dataclass
class Run:
    """Latencies and failures of one load run."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def sent(self) -> int:
        return len(self.latencies) + self.failed

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- processes and the database --------------------------------------------------------------


class Db:
    """A connection of the bench's own to the bench database, for checks and counts."""

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
        self.name = urlsplit(url).path.lstrip("/")

    def value(self, sql: str, params: Sequence[object] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def backend_pids(self) -> list[int]:
        rows = self.rows("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.name])
        return [int(row[0]) for row in rows]


# --- CPU accounting (Linux /proc) ------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each of these processes so far (gone ones are left out)."""
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / TICK
    return found


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine so far (idle and iowait excluded)."""
    with contextlib.suppress(OSError, ValueError):
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
        return (sum(values) - values[3] - values[4]) / TICK
    return 0.0


def with_children(pids: list[int]) -> list[int]:
    parents = set(pids)
    found = list(pids)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) in parents:
                    found.append(int(entry.name))
    return found


class Cpu:
    """CPU seconds spent by groups of processes (and this one, and the machine) during a block.

    The groups' processes are sampled twice a second, so one that ends meanwhile (a database
    connection closed after DB_CONN_MAX_AGE) still counts up to its last sample.
    """

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.spent: dict[str, float] = {}
        self.wall = 0.0
        self.last: dict[str, dict[int, float]] = {name: {} for name in groups}
        self.done = threading.Event()

    def sample(self) -> None:
        for name, find in self.groups.items():
            self.last[name].update(process_cpu(sorted(set(self.last[name]) | set(find()))))

    def sampler(self) -> None:
        while not self.done.wait(0.5):
            self.sample()

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
        self.wall = time.perf_counter() - self.started
        self.done.set()
        self.thread.join()
        self.sample()
        for name, seen in self.last.items():
            self.spent[name] = sum(seconds - self.start[name].get(pid, 0.0) for pid, seconds in seen.items())
        self.spent["bench client"] = sum(os.times()[:2]) - self.client
        machine = machine_cpu() - self.machine
        self.spent["other processes"] = max(0.0, machine - sum(self.spent.values()))
        self.spent["machine"] = machine

    def line(self, count: int, unit: str) -> str:
        cores = os.cpu_count() or 1
        parts = [
            f"{name} {seconds * 1000 / max(1, count):.2f}" for name, seconds in self.spent.items() if name != "machine"
        ]
        busy = self.spent.get("machine", 0.0) / (self.wall * cores) * 100 if self.wall else 0.0
        return f"CPU ms per {unit}: " + ", ".join(parts) + f"; machine {busy:.0f}% busy ({cores} CPUs)"


# --- HTTP ------------------------------------------------------------------------------------


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


def sign(payload: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """Stripe's scheme: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def run_requests(
    base: str,
    items: Sequence[Any],
    concurrency: int,
    call: Callable[[Connection, Any], str | None],
    seconds: float = float("inf"),
) -> Run:
    """Send every item once from ``concurrency`` threads, or as many as ``seconds`` allow.

    ``call`` returns None or what went wrong; ``Run.sent`` says how many items were sent.
    """
    run = Run()
    lock = threading.Lock()
    ready = threading.Barrier(concurrency + 1)
    counter = itertools.count()  # next() is atomic under the GIL

    def worker() -> None:
        connection = Connection(base)
        latencies: list[float] = []
        errors: dict[str, int] = {}
        ready.wait()
        while (k := next(counter)) < len(items) and time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                error = call(connection, items[k])
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is None:
                latencies.append(time.perf_counter() - started)
            else:
                errors[error[:200]] = errors.get(error[:200], 0) + 1
        with lock:
            run.latencies.extend(latencies)
            for error, count in errors.items():
                run.errors[error] = run.errors.get(error, 0) + count

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    stop_at = started + seconds
    ready.wait()
    for thread in threads:
        thread.join()
    run.seconds = time.perf_counter() - started
    return run


def healthz(connection: Connection, _: object) -> str | None:
    status, body = connection.send("GET", "/healthz")
    return None if status == 200 else f"GET /healthz answered {status}: {body[:120]!r}"


def post_event(connection: Connection, payload: bytes) -> str | None:
    headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload)}
    status, body = connection.send("POST", "/api/stripe/webhook", payload, headers)
    if status != 200:
        return f"webhook answered {status}: {body[:160]!r}"
    if json.loads(body) != {"received": True, "duplicate": False}:
        return f"webhook answered 200 but {body[:160]!r}"
    return None


def customer_event(k: int) -> bytes:
    """A ``customer.created`` event shaped like Stripe's (about 1 KB); no handler, so it would be ignored."""
    created = int(time.time())
    customer = f"cus_bench{k:08d}{uuid.uuid4().hex[:8]}"
    event = {
        "id": f"evt_bench{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": created,
        "data": {
            "object": {
                "id": customer,
                "object": "customer",
                "address": None,
                "balance": 0,
                "created": created,
                "currency": None,
                "default_source": None,
                "delinquent": False,
                "description": None,
                "email": f"bench{k}@example.com",
                "invoice_prefix": uuid.uuid4().hex[:8].upper(),
                "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None},
                "livemode": False,
                "metadata": {"bench": "webhooks"},
                "name": f"Bench customer {k}",
                "phone": None,
                "preferred_locales": [],
                "shipping": None,
                "tax_exempt": "none",
                "test_clock": None,
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": f"req_{uuid.uuid4().hex[:14]}", "idempotency_key": str(uuid.uuid4())},
        "type": "customer.created",
    }
    return json.dumps(event).encode()


# --- the sandbox -----------------------------------------------------------------------------

SANDBOX_AUTH = {"Authorization": f"Bearer {STRIPE_KEY}"}


def pay_session(connection: Connection, session_id: str) -> str | None:
    body = urlencode({"payment_method": "pm_card_visa"}).encode()
    headers = {**SANDBOX_AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    status, answer = connection.send("POST", f"/v1/test_helpers/checkout/sessions/{session_id}/pay", body, headers)
    if status != 200:
        return f"pay answered {status}: {answer[:160]!r}"
    if json.loads(answer).get("payment_status") != "paid":
        return f"session not paid: {answer[:160]!r}"
    return None


def retrieve_session(connection: Connection, session_id: str) -> str | None:
    """What fulfilment asks Stripe for: the session with its line items and PaymentIntent expanded."""
    query = urlencode([("expand[]", "line_items"), ("expand[]", "payment_intent")])
    status, answer = connection.send("GET", f"/v1/checkout/sessions/{session_id}?{query}", None, SANDBOX_AUTH)
    return None if status == 200 else f"retrieve answered {status}: {answer[:160]!r}"


def completed_events(sandbox: str) -> dict[str, bytes]:
    """The sandbox's ``checkout.session.completed`` events, as Stripe sends them, by session id."""
    connection = Connection(sandbox)
    found: dict[str, bytes] = {}
    after = ""
    while True:
        query = {"type": "checkout.session.completed", "limit": "100"} | ({"starting_after": after} if after else {})
        status, body = connection.send("GET", f"/v1/events?{urlencode(query)}", None, SANDBOX_AUTH)
        if status != 200:
            raise BenchError(f"GET /v1/events answered {status}: {body[:300]!r}")
        page = json.loads(body)
        for event in page["data"]:
            found[event["data"]["object"]["id"]] = json.dumps(event).encode()
        if not page.get("has_more") or not page["data"]:
            return found
        after = page["data"][-1]["id"]


# --- the bench -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=4000, help="events POSTed at each concurrency (default 4000)")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated client counts (default 1,8,32)")
    parser.add_argument("--orders", type=int, default=800, help="orders fulfilled in each round (default 800)")
    parser.add_argument("--workers", type=int, default=2, help="web server processes (default 2)")
    parser.add_argument("--server", choices=SERVERS, default="serve", help="web server (default: bookdesk serve)")
    parser.add_argument("--threads", type=int, default=16, help="web server threads per process (default 16)")
    parser.add_argument("--interval", type=float, default=0.05, help="bookdesk worker --interval (default 0.05)")
    parser.add_argument("--quick", action="store_true", help="a short run (500 events, 200 orders) as a smoke test")
    parser.add_argument("--profile", action="store_true", help="add a round of one worker under cProfile")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs and print where")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.orders = min(args.events, 500), min(args.orders, 200)
    levels = [int(level) for level in args.concurrency.split(",") if level.strip()]

    pg, explicit = pg_base()
    try:
        psycopg.connect(f"{pg}/postgres", connect_timeout=3).close()
    except psycopg.Error as exc:
        if explicit:
            print(f"PostgreSQL does not answer at {pg}: {type(exc).__name__}")
            return 1
        print(f"PostgreSQL not reachable at {pg}: webhook bench skipped (set BENCH_DATABASE_URL)")
        return 0

    signal.signal(signal.SIGTERM, raise_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    logs = Path(tempfile.mkdtemp(prefix="bench_webhooks_"))
    try:
        return bench(args, levels, pg, logs)
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
            for log in logs.iterdir():
                log.unlink()
            logs.rmdir()


def bench(args: argparse.Namespace, levels: list[int], pg: str, logs: Path) -> int:
    python = sys.executable
    # (worker processes, orders, under cProfile) per round; every round has fresh orders.
    # (worker processes, threads each, orders, under cProfile)
    rounds = [(1, 1, args.orders, False), (1, 2, args.orders, False), (2, 2, args.orders, False)]
    if args.profile:
        rounds.append((1, 1, min(args.orders, 300), True))
    total_orders = sum(orders for _, _, orders, _ in rounds)
    courses_count = (total_orders // USERS + 2) | 1  # odd: coprime with USERS, so no pair repeats
    started = time.perf_counter()
    with bench_database(pg, f"bookdesk_bench_webhooks_{os.getpid()}") as database_url:
        sandbox_port, web_port = free_port(), free_port()
        sandbox, web = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{web_port}"
        env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "PYTHONDONTWRITEBYTECODE")}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "bookdesk.settings",
                "DATABASE_URL": database_url,
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "BOOKDESK_PRODUCTION": "0",  # a test key against the sandbox
                "BOOKDESK_DATA_DIR": str(logs),
                "STRIPE_API_BASE": sandbox,
                "STRIPE_SECRET_KEY": STRIPE_KEY,
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "EMAIL_URL": "locmem:",
            }
        )
        bookdesk = [python, "-m", "bookdesk"]
        run_checked([*bookdesk, "migrate", "--noinput", "-v", "0"], env, "migrate", timeout=240)
        run_checked([*bookdesk, "createcachetable", "-v", "0"], env, "createcachetable", timeout=240)
        db = Db(database_url)
        web_argv = server_argv(args.server, port=web_port, workers=args.workers, threads=args.threads)
        with (
            subprocess_running(
                [python, "-m", "stripe_sandbox", "--port", str(sandbox_port)], env, logs / "sandbox.log"
            ) as sandbox_process,
            subprocess_running(web_argv, env, logs / "web.log") as web_process,
        ):
            wait_answers(sandbox, "/_sandbox/health", sandbox_process, logs / "sandbox.log", "the sandbox")
            wait_answers(web, "/healthz", web_process, logs / "web.log", "the web server")
            print(
                f"bookdesk on {server_label(args.server, workers=args.workers, threads=args.threads)}, DEBUG off, "
                f"PostgreSQL {db.value('SHOW server_version')} at {pg}; {os.cpu_count()} CPUs, "
                f"load average {os.getloadavg()[0]:.1f} at start"
            )
            web_cpu = {
                "app server": lambda: with_children([web_process.pid]),
                "postgres": db.backend_pids,
                "sandbox": lambda: [sandbox_process.pid],
            }
            intake_failed = intake(web, db, args.events, levels, web_cpu)
            if web_process.poll() is not None:
                raise BenchError(f"the web server exited with {web_process.returncode}:\n{tail(logs / 'web.log')}")
            fulfil_failed = fulfilment(
                args, env, db, sandbox, web, sandbox_process, rounds, total_orders, courses_count, logs
            )
        db.conn.close()
    print(f"\nwhole run {time.perf_counter() - started:.0f} s")
    return 1 if intake_failed or fulfil_failed else 0


def intake(web: str, db: Db, events: int, levels: list[int], groups: dict[str, Callable[[], list[int]]]) -> bool:
    """Part 1; returns whether anything failed."""
    # Warm-up: every server thread opens its database connection, first requests import lazily.
    warm = [customer_event(k) for k in range(max(levels) * 8)]
    for items, call in ((warm, post_event), (range(max(levels) * 8), healthz)):
        run = run_requests(web, items, max(levels), call)
        if run.failed:
            raise BenchError(f"warm-up: {run.failed} failures, first: {next(iter(run.errors))}")
    expected = len(warm)

    print(f"\n1. intake: {events} distinct signed customer.created events per concurrency (no worker running)\n")
    header = (
        f"{'conc':>4}  {'endpoint':<26}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'fail':>6}"
        f"{'srv CPU ms':>11}{'rate/hz':>9}{'p50/hz':>8}{'p99/hz':>8}"
    )
    print(header)
    print("-" * len(header))
    failed = False
    cpu_lines = []
    rates = []
    server_cpu = []
    for concurrency in levels:
        with Cpu(groups) as health_cpu:
            health = run_requests(web, range(events), concurrency, healthz, INTAKE_SECONDS)
        payloads = [customer_event(k) for k in range(events)]
        with Cpu(groups) as cpu:
            posted = run_requests(web, payloads, concurrency, post_event, INTAKE_SECONDS)
        expected += posted.sent
        for name, run, spent in (("GET /healthz", health, health_cpu), ("POST /api/stripe/webhook", posted, cpu)):
            # CPU of the server side (app server + PostgreSQL) per request, all cores.
            own = (spent.spent["app server"] + spent.spent["postgres"]) * 1000 / max(1, len(run.latencies))
            ratios = ""
            if run is posted and health.latencies and run.latencies:
                server_cpu.append(own)
                ratios = (
                    f"{run.rate / health.rate:9.3f}{run.percentile(0.5) / health.percentile(0.5):8.1f}"
                    f"{run.percentile(0.99) / health.percentile(0.99):8.1f}"
                )
            print(
                f"{concurrency:>4}  {name:<26}{run.rate:8.0f}{ms(run.percentile(0.5)):>8}{ms(run.percentile(0.95)):>8}"
                f"{ms(run.percentile(0.99)):>8}{run.failed:>6}{own:11.2f}{ratios}"
            )
            for error, count in run.errors.items():
                failed = True
                print(f"      {count} x {error}")
            if run.sent < events:
                print(f"      stopped after {INTAKE_SECONDS:g} s: {run.sent} of {events} sent")
        cpu_lines.append(f"{concurrency:>4}  {cpu.line(len(posted.latencies), 'event')}")
        rates.append((concurrency, posted.rate))
    stored = db.value("SELECT count(*) FROM payments_webhookevent")
    received = db.value(
        "SELECT count(*) FROM payments_webhookevent WHERE status = 'received' AND next_attempt_at <= now()"
    )
    print("\n" + "\n".join(cpu_lines))
    if server_cpu:
        cores = os.cpu_count() or 1
        ceiling = cores * 1000 / min(server_cpu)
        print(
            f"CPU ceiling: {cores} CPUs / {min(server_cpu):.2f} ms of server CPU per event = {ceiling:.0f} events/s,"
            "\n  if nothing else (this client, other processes) used the machine"
        )
    check = f"inbox {stored} rows, {received} of them received and due for a worker; expected {expected} of each"
    if stored == received == expected:
        print(f"check: {check}: OK")
    else:
        failed = True
        print(f"check: {check}: MISMATCH")
    met = any(rate >= TARGET_INTAKE for _, rate in rates) and not failed
    print(
        f"target intake >= {TARGET_INTAKE:.0f} events/s: {'MET' if met else 'MISSED'} ("
        + ", ".join(f"{rate:.0f}/s at {concurrency}" for concurrency, rate in rates)
        + ")"
    )
    # The intake's events are not the fulfilment's: a clean inbox for part 2.
    db.conn.execute("DELETE FROM payments_webhookevent")
    return failed


def fulfilment(
    args: argparse.Namespace,
    env: dict[str, str],
    db: Db,
    sandbox: str,
    web: str,
    sandbox_process: subprocess.Popen[bytes],
    rounds: list[tuple[int, int, int, bool]],
    total_orders: int,
    courses_count: int,
    logs: Path,
) -> bool:
    """Part 2; returns whether anything failed."""
    python = sys.executable
    started = time.perf_counter()
    threads = 8
    out = run_checked(
        [python, "-c", SETUP_SCRIPT, str(USERS), str(courses_count), str(total_orders), str(threads)],
        env,
        "setup",
        timeout=240,
    )
    sessions: list[str] = json.loads(out.strip().splitlines()[-1])
    placed = time.perf_counter() - started
    paid = run_requests(sandbox, sessions, 8, pay_session)
    if paid.failed:
        raise BenchError(f"paying sessions: {paid.failed} failures, first: {next(iter(paid.errors))}")
    events = completed_events(sandbox)
    missing = [s for s in sessions if s not in events]
    if missing:
        raise BenchError(f"{len(missing)} paid sessions have no checkout.session.completed event, e.g. {missing[0]}")
    print(
        f"\n2. fulfilment: {total_orders} orders placed with order_place + checkout_start ({USERS} users x "
        f"{courses_count} courses) in {placed:.1f} s, paid through the sandbox in {paid.seconds:.1f} s"
    )
    # What each fulfilment asks Stripe, straight from here: the sandbox's share of an order.
    sample = sessions[: min(len(sessions), 300)]
    retrieves = {c: run_requests(sandbox, sample, c, retrieve_session) for c in sorted({w for w, _, _, _ in rounds})}
    for concurrency, run in retrieves.items():
        print(
            f"   the sandbox alone, sessions.retrieve (expanded) at {concurrency} client(s): {run.rate:.0f}/s, "
            f"p50 {ms(run.percentile(0.5))} ms, p95 {ms(run.percentile(0.95))} ms"
        )
    print(
        f"   worker: `bookdesk worker --interval {args.interval:g} --threads N` (the events, then the emails they "
        f"queued, sent to Django's locmem backend); orders/s: confirmed and emailed, from release to the last "
        "processed_at or sent_at stamp\n"
    )
    header = (
        f"{'workers×threads':>15}  {'orders':>6}{'orders/s':>10}{'per worker':>12}{'release→done s':>16}"
        f"{'emails sent':>13}{'not confirmed':>15}"
    )
    print(header)
    print("-" * len(header))
    failed = False
    cpu_lines = []
    per_worker: dict[str, float] = {}
    worker_cpu: list[float] = []
    profile_file = logs / "worker.prof"
    profiled = 0
    offset = 0
    for workers, threads_each, orders, profiling in rounds:
        batch, offset = sessions[offset : offset + orders], offset + orders
        posted = run_requests(web, [events[s] for s in batch], 16, post_event)
        if posted.failed:
            raise BenchError(f"posting completed events: {posted.failed} failures, first: {next(iter(posted.errors))}")
        first_pk = db.value(
            "SELECT min(id) FROM payments_webhookevent WHERE stripe_id = ANY(%s)",
            [[json.loads(events[s])["id"] for s in batch]],
        )
        # The round's events are held back until the workers are up, so their start-up is not measured.
        queued = db.conn.execute(
            "UPDATE payments_webhookevent SET next_attempt_at = %s WHERE status = 'received'", [HELD]
        ).rowcount
        if queued != orders:
            raise BenchError(f"{queued} events received for {orders} orders")
        emails_before = db.value("SELECT count(*) FROM notifications_outgoingemail WHERE status = 'sent'")
        profiler = ["-m", "cProfile", "-o", str(profile_file)] if profiling else []
        argv = [
            *(python, *profiler, "-m", "bookdesk", "worker"),
            *("--interval", str(args.interval), "--threads", str(threads_each)),
        ]
        with contextlib.ExitStack() as stack:
            worker_logs = [logs / f"worker{n}.{offset}.log" for n in range(workers)]
            processes = [stack.enter_context(subprocess_running(argv, env, log)) for log in worker_logs]
            wait_started(processes, worker_logs)
            groups = {
                "worker": lambda started=processes: [p.pid for p in started],
                "postgres": db.backend_pids,
                "sandbox": lambda: [sandbox_process.pid],
            }
            with Cpu(groups) as cpu:
                released = time.perf_counter()
                released_at = db.value(
                    "UPDATE payments_webhookevent SET next_attempt_at = now() WHERE status = 'received' "
                    "RETURNING next_attempt_at"
                )
                done_at = wait_done(db, batch, processes, worker_logs, timeout=ROUND_SECONDS)
        # Stopped with SIGTERM: the worker exits cleanly (SystemExit), and cProfile then writes its file.
        emails = db.value("SELECT count(*) FROM notifications_outgoingemail WHERE status = 'sent'") - emails_before
        # Done: confirmed (its event processed) and emailed; the last of those stamps ends the round.
        count, last_sent = db.rows(
            f"SELECT count(*), max(e.sent_at) {ROUND_ORDERS} AND o.status = 'confirmed' AND e.status = 'sent'", [batch]
        )[0]
        last_processed = db.value("SELECT max(processed_at) FROM payments_webhookevent WHERE id >= %s", [first_pk])
        ends = [stamp for stamp in (last_sent, last_processed) if stamp is not None]
        span = (max(ends) - released_at).total_seconds() if ends and released_at else 0.0
        rate = count / span if span else float("nan")
        not_confirmed = db.value(
            "SELECT count(*) FROM payments_payment p JOIN orders_order o ON o.id = p.order_id "
            "WHERE p.session_id = ANY(%s) AND o.status <> 'confirmed'",
            [batch],
        )
        # A round cut short by ROUND_SECONDS is slow, not wrong; a failed event or another outcome is wrong.
        wrong = db.rows(
            "SELECT status, outcome, last_error FROM payments_webhookevent WHERE id >= %s "
            "AND (status IN ('failed', 'dead') OR (status = 'processed' AND outcome <> 'order confirmed'))",
            [first_pk],
        )
        name = f"{workers}×{threads_each}{' prof' if profiling else ''}"
        print(
            f"{name:>15}  {count:>6}{rate:10.1f}{rate / workers:12.1f}{done_at - released:16.1f}"
            f"{emails:>13}{not_confirmed:>15}"
        )
        if wrong:
            failed = True
            print(f"         {len(wrong)} events went wrong, e.g. {wrong[0]}")
        if not_confirmed:
            print(f"         stopped after {ROUND_SECONDS:g} s; the round's unprocessed events are dropped")
            db.conn.execute("DELETE FROM payments_webhookevent WHERE status = 'received'")
        cpu_lines.append(f"{name:>15}  {cpu.line(count, 'order')}")
        if profiling:
            profiled = count
        else:
            per_worker[name] = rate / workers
            worker_cpu.append(cpu.spent["worker"] * 1000 / max(1, count))
    print("\n" + "\n".join(cpu_lines))
    if worker_cpu:
        print(
            f"CPU ceiling per worker: 1000 / {min(worker_cpu):.1f} ms of worker CPU per order = "
            f"{1000 / min(worker_cpu):.0f} orders/s, with a CPU to itself and PostgreSQL and Stripe elsewhere"
        )
    met = all(rate >= TARGET_FULFIL for rate in per_worker.values()) and not failed
    print(
        f"target fulfilment >= {TARGET_FULFIL:.0f} orders/s per worker: {'MET' if met else 'MISSED'} ("
        + ", ".join(f"{rate:.1f}/s per worker at {n}" for n, rate in per_worker.items())
        + f"); part 2 took {time.perf_counter() - started:.0f} s"
    )
    if args.profile and profile_file.exists():
        print_profile(profile_file, profiled)
    return failed


def wait_started(processes: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    """Until every worker has entered its loop (and polled the empty inbox once)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is not None:
                raise BenchError(f"a worker exited with {process.returncode}:\n{tail(log)}")
        if all("worker running" in log.read_text(errors="replace") for log in logs):
            time.sleep(0.3)
            return
        time.sleep(0.1)
    raise BenchError(f"the workers did not start within 60 s:\n{tail(logs[0])}")


# The orders of a round's sessions, each with its confirmation email (a LEFT JOIN: it may not be queued yet).
ROUND_ORDERS = """
    FROM payments_payment p
    JOIN orders_order o ON o.id = p.order_id
    LEFT JOIN notifications_outgoingemail e ON e.key = 'order:' || o.code || ':confirmation'
    WHERE p.session_id = ANY(%s)
"""


def wait_done(
    db: Db, batch: list[str], processes: list[subprocess.Popen[bytes]], logs: list[Path], timeout: float
) -> float:
    """Poll until every order of the batch is confirmed and its email sent; returns when (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        left = db.value(
            f"SELECT count(*) {ROUND_ORDERS} AND (o.status <> 'confirmed' OR e.status IS DISTINCT FROM 'sent')",
            [batch],
        )
        if left == 0:
            return time.perf_counter()
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is not None:
                raise BenchError(f"a worker exited with {process.returncode}:\n{tail(log)}")
        time.sleep(0.05)
    return time.perf_counter()


def print_profile(path: Path, orders: int) -> None:
    """Where the worker's main thread spent its busy time (events, then emails), per order, by function."""
    stats = pstats.Stats(str(path))
    batch = "  webhooks.process_batch (claim, apply, record: one transaction)"
    sending = "  emails_send_due (claim, build, send)"
    wanted = [
        ("bookdesk/payments/webhooks.py", "process_batch", batch),
        ("bookdesk/payments/fulfilment.py", "fulfil_paid_sessions", "    fulfil_paid_sessions (the batch's orders)"),
        ("bookdesk/payments/fulfilment.py", "_locked_by_sessions", "      lock the orders and their payments"),
        ("bookdesk/payments/fulfilment.py", "write", "      _Confirmations.write"),
        ("bookdesk/orders/selectors.py", "lines_with_holds_of", "        lines_with_holds_of"),
        ("bookdesk/orders/services.py", "confirm_holds", "        confirm_holds"),
        ("bookdesk/notifications/services.py", "notify_orders_confirmed", "        notify_orders_confirmed"),
        ("bookdesk/notifications/services.py", "render_email", "          render_email (templates)"),
        ("bookdesk/notifications/ics.py", "calendar_for", "          ics.calendar_for"),
        ("bookdesk/orders/services.py", "audit_batch", "      audit_batch (the INSERT)"),
        ("bookdesk/payments/webhooks.py", "_finish", "    _finish (the events' new status)"),
        ("bookdesk/payments/webhooks.py", "process", "    webhooks.process (an event applied alone)"),
        ("bookdesk/notifications/services.py", "emails_send_due", sending),
        ("bookdesk/notifications/services.py", "build_message", "    build_message (MIME)"),
        ("psycopg/cursor.py", "execute", "SQL statements (psycopg execute, all of the above)"),
        ("psycopg/connection.py", "commit", "COMMITs"),
    ]
    found: dict[str, tuple[int, float]] = {}
    for (filename, _, function), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        for suffix, name, label in wanted:
            if function == name and filename.endswith(suffix) and found.get(label, (0, -1.0))[1] < cumulative:
                found[label] = (calls, cumulative)
    if not orders or batch not in found:
        print("\nprofile: no event was applied under cProfile")
        return
    # Busy time: applying events and sending emails (the loop's idle polls and sleeps left out).
    busy = found[batch][1] + found.get(sending, (0, 0.0))[1]
    print(f"\nprofile of one worker's main thread over {orders} orders (cProfile; it inflates Python-heavy parts):")
    for _, _, label in wanted:
        if label in found:
            calls, cumulative = found[label]
            print(
                f"  {label:<66}{calls / orders:6.2f} calls/order{cumulative / orders * 1000:8.2f} ms/order"
                f"{cumulative / busy * 100 if busy else 0:6.0f}%"
            )


if __name__ == "__main__":
    sys.exit(main())
