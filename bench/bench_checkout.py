"""Benchmark checkout creation (POST /api/stripe/checkout) while Stripe answers in 300 ms.

    python bench/bench_checkout.py [--seconds 6] [--concurrency 1,16,64] [--server serve|gunicorn]
                                   [--workers 2×cores] [--threads 16] [--cache redis|db] [--latency-ms 300]
                                   [--paced 100] [--goods] [--quick] [--keep-logs]

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
than 201 is reported and fails the run. With ``--goods`` each checkout is instead ``POST /api/checkout`` of a
customer's cart holding a vinyl record (stock counted under the product's row lock, weight priced into the
session's shipping options and address collection) and a course seat: one cart per customer, checked out once.
Users get their session tokens straight from the session
store (what allauth's headless login issues; one user logs in through the API to prove it), since
allauth limits logins to 30 a minute per IP. Bounded in time (about a minute); Ctrl-C cleans up.

Target (DESIGN §8): ≥ 100 sessions/s at 64 clients, own share p95 ≤ 40 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import psycopg

from benchkit import (
    SERVERS,
    BenchError,
    Db,
    app_env,
    bench_database,
    exited,
    free_port,
    login_token,
    migrate,
    ms,
    print_header,
    redis_running,
    request,
    run_bench,
    run_script,
    sandbox_serving,
    server_label,
    web_serving,
)
from benchload import Cpu, Run, run_load, with_children
from checkout_traffic import Pairs, cart_checkout_call, checkout_call, healthz_call, sandbox_call

TARGET_RATE = 100.0  # sessions/s at 64 clients
TARGET_OWN_P95 = 0.040  # seconds
USERS = 256  # a power of two; the number of courses is odd, so (k % users, k % courses) never repeats
# DESIGN §8: this many buyers at once for this many seats end as exactly that many bookings, the rest sold_out.
CROWD, CROWD_SEATS = 200, 10
PASSWORD = "bench-Passw0rd-not-secret"

# Run inside the server's environment (DJANGO_SETTINGS_MODULE, DATABASE_URL): users with verified
# email addresses and session tokens, and courses with room for everyone. Prints JSON.
SETUP_SCRIPT = r"""
from importlib import import_module

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from bookdesk.catalog.models import Course

users = bench_users(int(sys.argv[1]), password=sys.argv[3])
courses = roomy_courses(int(sys.argv[2]))
store = import_module(settings.SESSION_ENGINE).SessionStore
tokens = []
for user in users[1:]:
    session = store()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # what a login through it records
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    tokens.append(session.session_key)
starts = courses[0].starts_at
crowd = Course.objects.create(
    title="Crowd course", slug="crowd-course", starts_at=starts, ends_at=starts + timedelta(minutes=90),
    capacity=int(sys.argv[4]), price_amount=4500, currency=settings.BOOKDESK_CURRENCY,
)
if len(sys.argv) > 5 and sys.argv[5] == "goods":
    from bookdesk.cart.models import Cart, CartItem
    from bookdesk.catalog.models import Product

    vinyl = Product.objects.create(
        title="Bench vinyl", slug="bench-vinyl", kind="physical", price_amount=2800, stock=10_000_000,
        weight_grams=320, currency=settings.BOOKDESK_CURRENCY,
    )
    carts = Cart.objects.bulk_create([Cart(user=user) for user in users])
    CartItem.objects.bulk_create(
        [CartItem(cart=cart, kind="product", product=vinyl, quantity=1) for cart in carts]
        + [CartItem(cart=cart, kind="course", course=courses[i % len(courses)]) for i, cart in enumerate(carts)]
    )
found = {"login_email": users[0].email, "tokens": tokens, "courses": [c.pk for c in courses], "crowd": crowd.pk}
print(json.dumps(found))
"""


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
    parser.add_argument(
        "--goods", action="store_true", help="check out carts holding a vinyl record and a course seat (shipping)"
    )
    parser.add_argument("--quick", action="store_true", help="short runs (2 s) for a smoke test")
    parser.add_argument("--keep-logs", action="store_true", help="keep the server and sandbox logs and print where")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.quick else args.seconds
    levels = [int(level) for level in args.concurrency.split(",") if level.strip()]

    return run_bench("checkout", lambda pg, logs: bench(args, seconds, levels, pg, logs), keep_logs=args.keep_logs)


def bench(args: argparse.Namespace, seconds: float, levels: list[int], pg: str, logs: Path) -> int:
    # Enough pairs for every run at the most a 300 ms round trip allows (and 400/s at 0 ms), with room to spare.
    budget = sum(levels) / max(0.05, args.latency_ms / 1000) * (seconds + 1) + 400 * seconds + 64 * 4 + 16
    courses_count = max(3, math.ceil(budget * 1.5 / USERS)) | 1  # odd: coprime with USERS
    users = USERS
    if args.goods:  # one cart per customer, each checked out once
        users, courses_count = math.ceil(budget * 1.2) + CROWD + 1, 101

    with bench_database(pg, f"bookdesk_bench_{os.getpid()}") as database_url:
        sandbox_port, web_port = free_port(), free_port()
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        web = f"http://127.0.0.1:{web_port}"
        # The configuration under test is spelled out here (and in app_env) and in the server's arguments.
        env = app_env(
            database_url,
            logs,
            STRIPE_API_BASE=sandbox,
            STRIPE_SECRET_KEY="sk_test_bench",
            STRIPE_WEBHOOK_SECRET="whsec_bench",
            RATE_LIMIT_CHECKOUT="1000000/60",
            RATE_LIMIT_CHECKOUT_IP="1000000/60",
            RATE_LIMIT_API="1000000/60",
            # Every simulated customer books many courses unpaid, all from 127.0.0.1.
            RATE_LIMIT_HOLDS_IP="1000000/60",
            MAX_UNPAID_ORDERS_PER_CUSTOMER="0",
        )
        with contextlib.ExitStack() as stack:
            # Redis first: with REDIS_URL the sessions the setup writes go through it too.
            redis_process = None
            redis_server = shutil.which("redis-server") if args.cache == "redis" else None
            if redis_server:
                env["REDIS_URL"], redis_process = stack.enter_context(
                    redis_running(redis_server, env, logs / "redis.log")
                )
            elif args.cache == "redis":
                print("redis-server not found (apt-get install redis-server): the cache is the database's")

            started = time.perf_counter()
            migrate(env)
            setup = json.loads(
                run_script(
                    SETUP_SCRIPT,
                    [str(users), str(courses_count), PASSWORD, str(CROWD_SEATS), "goods" if args.goods else "seats"],
                    env,
                    "setup",
                )
            )
            tokens: list[str] = setup["tokens"]
            courses: list[int] = setup["courses"]

            sandbox_process = stack.enter_context(sandbox_serving(sandbox_port, env, logs))
            status, body = request(sandbox, "POST", "/_sandbox/faults", {"latency_ms": args.latency_ms})
            if status != 200 or json.loads(body).get("latency_ms") != args.latency_ms:
                raise BenchError(f"POST /_sandbox/faults answered {status}: {body[:200]!r}")
            web_process = stack.enter_context(
                web_serving(args.server, web_port, env, logs, workers=args.workers, threads=args.threads)
            )

            # One user through allauth's headless login, to show the tokens are the real thing.
            tokens.insert(0, login_token(web, setup["login_email"], PASSWORD))
            # The crowd's buyers book the crowd course (Book now); with --goods their carts are left alone.
            crowd_tokens = tokens[-CROWD:] if args.goods else tokens[:CROWD]
            pairs = Pairs(tokens[:-CROWD], [0]) if args.goods else Pairs(tokens, courses)
            checkout_maker = cart_checkout_call if args.goods else checkout_call
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
            for make in (healthz_call(web), checkout_maker(web, pairs)):
                run = run_load(make, warm, 1.0 if args.quick else 2.0)
                if run.errors:
                    raise BenchError(f"warm-up: {run.errors} errors, first: {run.first_error}")

            db = stack.enter_context(Db(database_url))
            groups: dict[str, Callable[[], list[int]]] = {
                "web server (app)": lambda: with_children([web_process.pid]),
                "postgres": db.backend_pids,
                "sandbox": lambda: [sandbox_process.pid],
            }
            if redis_process is not None:
                groups["redis"] = lambda: [redis_process.pid]
            probes = {"lock waiters": db.lock_waiters}
            results = []
            cpu = []
            for concurrency in levels:
                health = run_load(healthz_call(web), concurrency, seconds)
                direct = run_load(sandbox_call(sandbox), concurrency, seconds)
                with Cpu(groups, probes) as parts:
                    checkout = run_load(checkout_maker(web, pairs), concurrency, seconds)
                results.append((concurrency, health, direct, checkout))
                cpu.append((concurrency, checkout, parts))
                exited(web_process, logs / "web.log", "the web server")
            # The same load with Stripe answering at once: what the stack can do when nothing waits.
            request(sandbox, "POST", "/_sandbox/faults", {"latency_ms": 0})
            top = max(levels)
            with Cpu(groups, probes) as parts:
                capacity = run_load(checkout_maker(web, pairs), top, seconds)
            status = report(results, args.latency_ms, goods=args.goods)
            at_top, top_parts = results[-1][3], cpu[-1][2]
            print(
                f"\nwith the sandbox at 0 ms, {top} clients: {capacity.rate:.1f} sessions/s, p50 "
                f"{ms(capacity.percentile(0.5))} ms, p95 {ms(capacity.percentile(0.95))} ms, {capacity.errors} errors"
                f" (vs {at_top.rate:.1f}/s at {args.latency_ms} ms)"
            )
            busy = top_parts.busy()
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
                paced = run_load(checkout_maker(web, pairs), top, seconds, rate=args.paced)
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
            if not crowd_run(web, crowd_tokens, setup["crowd"], database_url, args.latency_ms):
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


def report_cpu(cpu: list[tuple[int, Run, Cpu]], labels: list[str]) -> None:
    if not cpu or not cpu[0][2].spent.get("machine"):
        return
    names = [name for name in cpu[0][2].spent if name != "machine"]
    print(
        "\nCPU per checkout (ms, all cores) during the checkout runs; how busy the machine was, and the busiest"
        "\nbusiest web server process (percent of one core: a Python process runs one thread at a time):"
    )
    print_header(
        f"{'conc':>8}  "
        + "".join(f"{name:>16}" for name in names)
        + f"{'total':>10}{'machine busy':>14}{'top worker':>12}"
    )
    cores = os.cpu_count() or 1
    for label, (_, run, parts) in zip(labels, cpu, strict=True):
        count = max(1, len(run.latencies))
        cells = "".join(f"{parts.spent[name] * 1000 / count:16.1f}" for name in names)
        busy = parts.busy()
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


def report(results: list[tuple[int, Run, Run, Run]], latency_ms: int, *, goods: bool = False) -> int:
    print_header(
        f"{'conc':>4}  {'endpoint':<28}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'own p50':>9}{'own p95':>9}{'errors':>8}{'rate/hz':>9}{'p50/hz':>8}"
    )
    failed = False
    verdict = ""
    for concurrency, health, direct, checkout in results:
        stripe_p50 = direct.percentile(0.5)
        rows = (
            ("GET /healthz", health, "", ""),
            ("sandbox sessions.create", direct, "", ""),
            (
                "POST /api/checkout (goods)" if goods else "POST /api/stripe/checkout",
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
                counts = ", ".join(f"{kind} x{count}" for kind, count in sorted(run.kinds().items()))
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
