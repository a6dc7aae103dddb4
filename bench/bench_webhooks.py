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
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchkit import (
    BOOKDESK,
    SERVERS,
    BenchError,
    Db,
    app_env,
    bench_database,
    exited,
    free_port,
    migrate,
    ms,
    print_header,
    run_bench,
    run_checked,
    run_script,
    sandbox_serving,
    server_label,
    subprocess_running,
    tail,
    web_serving,
)
from benchload import Cpu, with_children
from webhook_traffic import (
    STRIPE_KEY,
    WEBHOOK_SECRET,
    completed_events,
    customer_event,
    healthz,
    pay_session,
    post_event,
    print_profile,
    retrieve_session,
    run_requests,
)

TARGET_INTAKE = 800.0  # events/s
TARGET_FULFIL = 200.0  # orders/s per worker
HELD = "2999-01-01T00:00:00Z"  # a next_attempt_at no worker picks up yet
INTAKE_SECONDS = 25.0  # at most, per load run: the whole bench stays within 5 minutes on a slow machine
ROUND_SECONDS = 75.0  # at most, per fulfilment round
USERS = 64  # a power of two; the number of courses is odd, so (k % users, k % courses) never repeats

# Run in the server's environment: users and roomy courses, then `total` orders placed and their
# Checkout Sessions created through the real services, by a few threads. Prints the session ids as JSON.
SETUP_SCRIPT = r"""
import threading

from django.db import connections

from bookdesk.orders.services import ItemRequest, order_place
from bookdesk.payments.checkout import checkout_start

users_count, courses_count, total, threads = (int(arg) for arg in sys.argv[1:5])
users = bench_users(users_count)
courses = roomy_courses(courses_count)
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

    return run_bench("webhooks", lambda pg, logs: bench(args, levels, pg, logs), keep_logs=args.keep_logs)


def bench(args: argparse.Namespace, levels: list[int], pg: str, logs: Path) -> int:
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
        env = app_env(
            database_url,
            logs,
            STRIPE_API_BASE=sandbox,
            STRIPE_SECRET_KEY=STRIPE_KEY,
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
        migrate(env)
        run_checked([*BOOKDESK, "createcachetable", "-v", "0"], env, "createcachetable", timeout=240)
        with (
            Db(database_url) as db,
            sandbox_serving(sandbox_port, env, logs) as sandbox_process,
            web_serving(args.server, web_port, env, logs, workers=args.workers, threads=args.threads) as web_process,
        ):
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
            exited(web_process, logs / "web.log", "the web server")
            fulfil_failed = fulfilment(
                args, env, db, sandbox, web, sandbox_process, rounds, total_orders, courses_count, logs
            )
    print(f"\nwhole run {time.perf_counter() - started:.0f} s")
    return 1 if intake_failed or fulfil_failed else 0


def intake(web: str, db: Db, events: int, levels: list[int], groups: dict[str, Callable[[], list[int]]]) -> bool:
    """Part 1; returns whether anything failed."""
    # Warm-up: every server thread opens its database connection, first requests import lazily.
    warm = [customer_event(k) for k in range(max(levels) * 8)]
    for items, call in ((warm, post_event), (range(max(levels) * 8), healthz)):
        run = run_requests(web, items, max(levels), call)
        if run.errors:
            raise BenchError(f"warm-up: {run.errors} failures, first: {run.first_error}")
    expected = len(warm)

    print(f"\n1. intake: {events} distinct signed customer.created events per concurrency (no worker running)\n")
    print_header(
        f"{'conc':>4}  {'endpoint':<26}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'fail':>6}"
        f"{'srv CPU ms':>11}{'rate/hz':>9}{'p50/hz':>8}{'p99/hz':>8}"
    )
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
                f"{ms(run.percentile(0.99)):>8}{run.errors:>6}{own:11.2f}{ratios}"
            )
            for error, count in run.failures.items():
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
    out = run_script(
        SETUP_SCRIPT, [str(USERS), str(courses_count), str(total_orders), str(threads)], env, "setup", timeout=240
    )
    sessions: list[str] = json.loads(out.strip().splitlines()[-1])
    placed = time.perf_counter() - started
    paid = run_requests(sandbox, sessions, 8, pay_session)
    if paid.errors:
        raise BenchError(f"paying sessions: {paid.errors} failures, first: {paid.first_error}")
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
    print_header(
        f"{'workers×threads':>15}  {'orders':>6}{'orders/s':>10}{'per worker':>12}{'release→done s':>16}"
        f"{'emails sent':>13}{'not confirmed':>15}"
    )
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
        if posted.errors:
            raise BenchError(f"posting completed events: {posted.errors} failures, first: {posted.first_error}")
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
            exited(process, log, "a worker")
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
            exited(process, log, "a worker")
        time.sleep(0.05)
    return time.perf_counter()


if __name__ == "__main__":
    sys.exit(main())
