"""Benchmark the operator's console on PostgreSQL: each page and a course roster's CSV, at concurrency 1 and 8.

    python bench/bench_console.py [--seconds 5] [--concurrency 1,8] [--holds 1000000] [--quick] [--keep-db]

The data is the bookings bench's (`bench_bookings.fill`: --holds seats, slots and licenses in orders of
every state, 20,011 courses over two years, 199 studios), plus, for the console: a course today with a
10,000-seat roster (10,000 confirmed orders with paid payments, half checked in), 60 orders under review,
60 dead webhook events, 60 dead emails, and 60 parcels to ship and 60 on their way (addresses on the
roster's last orders, which hold no goods lines). An operator (staff with `orders.view_order`, not a superuser)
is signed in with a session cookie. The production server (`bookdesk serve`, DEBUG off) answers; the bench
prints, per concurrency, req/s and p50/p95 of GET /healthz (the bare endpoint), each console page and the
10,000-seat roster as CSV, with ratios against /healthz and the CPU each request took (the machine's, the
bench client's left out) with the floor it sets at that concurrency on this machine's cores; then each page's
query count (run twice through the app, with little and with all the data) and the CSV's peak Python memory
for 10,000 seats and for 100. The server runs with `bookdesk serve`'s defaults (2 processes per core, 16
threads each).

Target (DESIGN §8): p95 ≤ 50 ms for every page with a fixed number of queries; the CSV in constant memory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from bench_bookings import COURSES, USERS, fill
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
    server_label,
    web_serving,
)
from benchload import Call, Connection, Cpu, Run, run_load, with_children

DATABASE = "bookdesk_bench_console"
TARGET_P95 = 0.050
BIG_ROSTER = 10_000
EXTRA = 60  # orders under review, dead events, dead emails, parcels to ship, parcels on their way

# The 10,000-seat course (id COURSES) today, its orders (ids after the bookings bench's), their payments;
# orders under review, dead events and dead emails; parcels to ship and on their way (of the roster's last orders).
CONSOLE_SQL = """
INSERT INTO catalog_course (id, title, slug, description, starts_at, ends_at, location, capacity, price_amount,
                            currency, published, created_at)
VALUES (%(course)s, 'Open day', 'open-day', '', date_trunc('day', now()) + interval '9 hours',
        date_trunc('day', now()) + interval '21 hours', 'Main hall', %(big)s, 4900, 'eur', true, now());

INSERT INTO orders_order (id, code, email, kind, status, currency, subtotal_amount, tax_amount, shipping_amount,
                          total_amount, amount_refunded, hold_expires_at, review_reason, created_at, updated_at,
                          user_id)
SELECT %(first)s + k, 'BD-R' || k, 'customer' || (k + 1) || '@bench.invalid', 'course_booking', 'confirmed', 'eur',
       4900, 782, 0, 4900, 0, now() - interval '1 day', '', now() - k * interval '3 minutes',
       now() - k * interval '3 minutes', k + 1
FROM generate_series(0, %(big)s - 1) AS k;

INSERT INTO orders_orderline (id, kind, description, quantity, unit_amount, total_amount, course_id, license_id,
                              order_id, product_id, service_id, tax_rate, tax_amount, amount_refunded, status)
SELECT %(first)s + k, 'course', 'Open day', 1, 4900, 4900, %(course)s, NULL, %(first)s + k, NULL, NULL,
       1900, 782, 0, 'active'
FROM generate_series(0, %(big)s - 1) AS k;

INSERT INTO orders_booking (id, status, created_at, course_id, user_id, line_id, checked_in_at)
SELECT %(first)s + k, 'confirmed', now() - k * interval '3 minutes', %(course)s, k + 1, %(first)s + k,
       CASE WHEN k %% 2 = 0 THEN now() END
FROM generate_series(0, %(big)s - 1) AS k;

INSERT INTO payments_payment (attempt, session_id, checkout_url, payment_intent_id, status, amount, currency,
                              amount_received, amount_refunded, expires_at, created_at, updated_at, order_id)
SELECT 1, 'cs_test_roster_' || k, '', 'pi_roster_' || k, 'paid', 4900, 'eur', 4900, 0,
       now(), now() - k * interval '3 minutes', now() - k * interval '3 minutes', %(first)s + k
FROM generate_series(0, %(big)s - 1) AS k;

UPDATE orders_order SET status = 'needs_review', review_reason = 'dispute du_bench: fraudulent'
WHERE id IN (SELECT id FROM orders_order WHERE status = 'confirmed' ORDER BY id LIMIT %(extra)s);

INSERT INTO payments_webhookevent (stripe_id, type, payload, livemode, stripe_created, status, attempts,
                                   next_attempt_at, last_error, outcome, received_at, processed_at)
SELECT 'evt_bench_dead_' || k, 'charge.refunded', '{"data": {"object": {}}}', false, now(), 'dead', 8, now(),
       'RuntimeError: boom', '', now() - k * interval '1 minute', NULL
FROM generate_series(1, %(extra)s) AS k;

INSERT INTO orders_shipment (order_id, name, line1, line2, postal_code, city, state, country, rate_name, rate_amount,
                             currency, stripe_shipping_rate, status, carrier, tracking_number, tracking_url,
                             created_at, shipped_at, delivered_at)
SELECT %(first)s + %(big)s - k, 'Customer ' || k, 'Oranienstraße ' || k, '', '10999', 'Berlin', '', 'DE',
       'Standard — Germany', 490, 'eur', 'shr_bench', CASE WHEN k <= %(extra)s THEN 'to_ship' ELSE 'shipped' END,
       CASE WHEN k <= %(extra)s THEN '' ELSE 'dhl' END, CASE WHEN k <= %(extra)s THEN '' ELSE '0034' || k END,
       CASE WHEN k <= %(extra)s THEN '' ELSE 'https://www.dhl.de/?piececode=0034' || k END,
       now() - k * interval '1 hour', CASE WHEN k <= %(extra)s THEN NULL ELSE now() - k * interval '1 minute' END, NULL
FROM generate_series(1, 2 * %(extra)s) AS k;

INSERT INTO notifications_outgoingemail (key, "to", subject, text_body, html_body, attachments, status, attempts,
                                         next_attempt_at, last_error, sent_at, created_at, order_id)
SELECT 'bench:' || k, 'customer' || k || '@bench.invalid', 'Your booking', 'Hi', '', '[]', 'dead', 8, now(),
       'SMTPServerDisconnected', NULL, now() - k * interval '1 minute', NULL
FROM generate_series(1, %(extra)s) AS k;
"""

SEQUENCES = ["catalog_course", "orders_order", "orders_orderline", "orders_booking", "payments_payment"]

# Run in the server's environment: an operator (staff with orders.view_order) and a session for them.
OPERATOR_SCRIPT = r"""
from importlib import import_module
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Permission
from bookdesk.accounts.models import User

user = User.objects.create_user(email=sys.argv[1], password=sys.argv[2], is_staff=True)
user.user_permissions.add(Permission.objects.get(content_type__app_label="orders", codename="view_order"))
session = import_module(settings.SESSION_ENGINE).SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps({"cookie": settings.SESSION_COOKIE_NAME, "key": session.session_key}))
"""

# Run in the server's environment: each page's queries through the app (Django's test client), and the CSV's
# peak Python memory (tracemalloc) for a big roster and a small one.
MEASURE_SCRIPT = r"""
import tracemalloc
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from bookdesk.accounts.models import User
from bookdesk.bookings.roster import course_for_roster, roster_csv

client = Client(HTTP_HOST="127.0.0.1")
client.force_login(User.objects.get(email=sys.argv[1]))
counts = {}
for name, path in json.loads(sys.argv[2]).items():
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
        if hasattr(response, "streaming_content"):
            for _ in response.streaming_content:
                pass
    counts[name] = [response.status_code, len(captured.captured_queries)]
memory = {}
for label, course_id in (("big", int(sys.argv[3])), ("small", int(sys.argv[4]))):
    course = course_for_roster(course_id)
    tracemalloc.start()
    rows = sum(chunk.count(b"\n") for chunk in roster_csv(course=course))  # the header's line too
    memory[label] = [rows - 1, tracemalloc.get_traced_memory()[1]]
    tracemalloc.stop()
print(json.dumps({"queries": counts, "memory": memory}))
"""


ROLL_UP_SCRIPT = r"""
from bookdesk.payments.sales_days import sales_days_refresh
sales_days_refresh()
"""


def fill_console(database_url: str, *, first_id: int) -> None:
    sizes = {"course": COURSES, "big": BIG_ROSTER, "first": first_id, "extra": EXTRA}
    with psycopg.connect(database_url, autocommit=False, connect_timeout=5) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        for statement in [s.strip() for s in (CONSOLE_SQL % sizes).split(";\n") if s.strip()]:
            conn.execute(statement)  # type: ignore[arg-type]
        for table in SEQUENCES:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()


def get_call(base: str, path: str, cookie: str, expect: bytes) -> Callable[[], Call]:
    def make() -> Call:
        connection = Connection(base)
        headers = {"Cookie": cookie}

        def call() -> str | None:
            status, body = connection.send("GET", path, None, headers)
            if status != 200 or expect not in body:
                return f"{status}: GET {path} {body[:160]!r}"
            return None

        return call

    return make


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--holds", type=int, default=1_000_000, help="the bookings bench's items (default 1M)")
    parser.add_argument("--server", choices=SERVERS, default="serve")
    workers = 2 * (os.cpu_count() or 1)  # bookdesk serve's own defaults (WEB_WORKERS, WEB_THREADS)
    parser.add_argument("--workers", type=int, default=workers, help=f"web server processes (default {workers})")
    parser.add_argument("--threads", type=int, default=16, help="web server threads per process (default 16)")
    parser.add_argument("--quick", action="store_true", help="200,000 items and 2 s runs")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    seconds = 2.0 if args.quick else args.seconds
    holds = min(args.holds, 200_000) if args.quick else args.holds
    levels = [int(level) for level in args.concurrency.split(",") if level.strip()]
    return run_bench(
        "console", lambda pg, logs: bench(args, seconds, holds, levels, pg, logs), keep_logs=args.keep_logs
    )


def bench(args: argparse.Namespace, seconds: float, holds: int, levels: list[int], pg: str, logs: Path) -> int:
    with bench_database(pg, DATABASE, keep=args.keep_db) as database_url:
        port = free_port()
        web = f"http://127.0.0.1:{port}"
        env = app_env(database_url, logs, ALLOWED_HOSTS="127.0.0.1", SITE_URL=web, ACCESS_LOG_LEVEL="WARNING")
        started = time.perf_counter()
        migrate(env)
        # Pages render the site's stylesheet through the manifest storage (DEBUG off), as in production.
        run_checked([*BOOKDESK, "collectstatic", "--noinput", "-v", "0"], env, "collectstatic")
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), {USERS})")
        session = json.loads(run_script(OPERATOR_SCRIPT, ["operator@bench.invalid", "bench-Passw0rd"], env, "operator"))
        counts = fill(database_url, holds=holds, customer=USERS + 1)
        fill_console(database_url, first_id=holds + 1)
        # The sales roll-up, as the worker keeps it (summed at its start); then the statistics of every table,
        # the roll-up's too, as autovacuum would have them (this machine's server runs without it).
        rolled = time.perf_counter()
        run_script(ROLL_UP_SCRIPT, [], env, "sales roll-up")
        print(f"sales roll-up summed from the orders in {time.perf_counter() - rolled:.1f} s")
        with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("VACUUM ANALYZE")
        print(
            f"data: {holds:,} seats/slots/licenses ({counts['orders_booking']:,} seats) in the bookings bench's "
            "orders, "
            f"+ a {BIG_ROSTER:,}-seat course today, {EXTRA} reviews, {EXTRA} dead events, {EXTRA} dead emails, "
            f"{EXTRA} parcels to ship and {EXTRA} on their way; "
            f"set up in {time.perf_counter() - started:.1f} s"
        )
        with psycopg.connect(database_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT resource_id, starts_at FROM orders_reservation WHERE status = 'confirmed' "
                "ORDER BY id DESC LIMIT 1"
            ).fetchone()
        resource, starts = row if row else (0, None)
        week = f"{starts.isocalendar()[0]}-W{starts.isocalendar()[1]:02d}" if starts else ""
        pages = {
            "agenda": "/console/",
            "calendar": f"/console/calendar?resource={resource}&week={week}",
            f"roster ({BIG_ROSTER:,} seats)": f"/console/courses/{COURSES}/roster",
            "roster (~20 seats)": "/console/courses/100/roster",
            "attention": "/console/attention",
            "shipping": "/console/shipping",
            "sales (30 days)": "/console/sales",
            "sales (12 months)": "/console/sales?by=month",
            "health": "/console/health",
            f"roster CSV ({BIG_ROSTER:,} seats)": f"/console/courses/{COURSES}/roster?format=csv",
        }
        measured = json.loads(
            run_script(
                MEASURE_SCRIPT, ["operator@bench.invalid", json.dumps(pages), str(COURSES), "100"], env, "measure"
            )
        )
        print("queries per page (through the app, this data):")
        for name, (code, n) in measured["queries"].items():
            print(f"   {name:<34} {n:>3} queries (HTTP {code})")
        print("roster CSV peak Python memory while streaming (tracemalloc):")
        for label, (rows, peak) in measured["memory"].items():
            print(f"   {label:<6} {rows:>6,} seats: {peak / 1024:,.0f} KiB")
        sys.stdout.flush()
        cookie = f"{session['cookie']}={session['key']}"
        with web_serving(args.server, port, env, logs, workers=args.workers, threads=args.threads) as web_process:
            print(
                f"server: {server_label(args.server, workers=args.workers, threads=args.threads)}, DEBUG off, "
                f"PostgreSQL {pg}; {os.cpu_count()} CPUs; runs of {seconds:g} s\n"
            )
            endpoints = [("GET /healthz", get_call(web, "/healthz", "", b"ok"))]
            endpoints += [(name, get_call(web, path, cookie, b"")) for name, path in pages.items()]
            for _, make in endpoints:
                warm = run_load(make, 1, 1.0)
                if warm.errors:
                    raise BenchError(f"warm-up: {warm.errors} errors, first: {warm.first_error}")
            results: list[tuple[int, str, Run, Cpu]] = []
            load_before = os.getloadavg()
            with Db(database_url) as db:
                groups = {"web": lambda: with_children([web_process.pid]), "postgres": db.backend_pids}
                for concurrency in levels:
                    for name, make in endpoints:
                        with Cpu(groups) as cpu:
                            run = run_load(make, concurrency, seconds)
                        results.append((concurrency, name, run, cpu))
                    exited(web_process, logs / "web.log", "the web server")
        status = report(results)
        print(
            f"machine load (1-minute average) before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} CPUs: other processes share the machine; compare with the ratios to /healthz."
        )
        return status


def report(results: list[tuple[int, str, Run, Cpu]]) -> int:
    """Each run's rate and latencies, its p95 against /healthz's, and the CPU a request took (the whole machine's
    busy time less the bench client's, over the requests answered: the server, its threads and PostgreSQL's
    backends and parallel workers). On `cores` cores, `concurrency` clients that each wait for their answer can
    be answered on average no sooner than concurrency × CPU per request / cores, however the server is arranged:
    the "floor" column."""
    cores = os.cpu_count() or 1
    print_header(
        f"{'conc':>4}  {'page':<34}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}{'p95/hz':>8}"
        f"{'CPU ms':>8}{'floor':>7}"
    )
    failed, worst = False, 0.0
    health = {c: run for c, name, run, _ in results if name == "GET /healthz"}
    for concurrency, name, run, cpu in results:
        base = health.get(concurrency)
        ratio = ""
        if name != "GET /healthz" and base and base.latencies:
            ratio = f"{run.percentile(0.95) / base.percentile(0.95):8.1f}"
            if "CSV" not in name:
                worst = max(worst, run.percentile(0.95))
        per_request = (cpu.spent["machine"] - cpu.spent["bench client"]) / max(1, len(run.latencies))
        print(
            f"{concurrency:>4}  {name:<34}{run.rate:8.1f}{ms(run.percentile(0.5)):>9}{ms(run.percentile(0.95)):>9}"
            f"{run.errors:>8}{ratio or '':>8}{ms(per_request):>8}{ms(concurrency * per_request / cores):>7}"
        )
        if run.errors:
            failed = True
            print(f"      first error: {run.first_error[:200]}")
    met = worst <= TARGET_P95
    print(
        f"\ntarget (p95 <= {TARGET_P95 * 1000:.0f} ms for every page): {'MET' if met else 'MISSED'} "
        f"(worst {ms(worst)} ms)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
