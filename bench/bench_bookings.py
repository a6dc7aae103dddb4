"""Benchmark a customer's bookings list (GET /api/bookings) among a million seats, slots and licenses.

    python bench/bench_bookings.py [--seconds 5] [--concurrency 1,8] [--holds 1000000] [--quick] [--keep-db]

Against PostgreSQL (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432):
the database ``bookdesk_bench_bookings`` is created, migrated (``bookdesk migrate``) and dropped at the end.
It is filled with SQL (``INSERT … SELECT … generate_series``): 20,000 customers, 20,011 courses, 199
studios, 10,000 beats, and one order with one line and one hold per item — 1,000,000 course seats,
studio slots and licenses in all (40/30/30), in every state (confirmed, failed, expired, refunded,
pending), consistent with the models' constraints (one active seat per customer and course, no two
active slots of a studio overlapping, line totals, order amounts). One item in every 1,000 (at an
offset that turns, so they are of every kind) belongs to the measured customer: 1,000 of theirs among
the million. Then ``VACUUM ANALYZE``, and the production server — ``bookdesk serve`` (granian, WSGI;
``--server gunicorn`` for gunicorn's gthread worker), DEBUG off — as a subprocess; the customer logs in
through allauth's headless API and the bench prints, at each concurrency (client threads, each with its
own keep-alive connection):

- ``GET /healthz`` on the same server (the bare endpoint);
- ``GET /api/bookings`` (first page of 20), ``?page=20`` (items 381–400) and ``?status=confirmed&kind=course``:
  req/s, p50/p95, and ratios against /healthz;

and every query one page makes (EXPLAIN ANALYZE: time and indexes used), with the plan of the main one.
Bounded in time; stops by itself; Ctrl-C cleans up (server and database).

Target (DESIGN §8): p95 ≤ 30 ms, a fixed number of queries.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from benchkit import (
    SERVERS,
    BenchError,
    app_env,
    bench_database,
    exited,
    free_port,
    login_token,
    migrate,
    ms,
    print_header,
    request,
    run_bench,
    run_script,
    server_label,
    web_serving,
)
from benchload import Call, Connection, Run, run_load

DATABASE = "bookdesk_bench_bookings"
TARGET_P95 = 0.030  # seconds
CUSTOMER_EMAIL = "measured@example.com"
PASSWORD = "bench-Passw0rd-not-secret"
MINE_EVERY = 1000  # one item in each block of 1,000 is the measured customer's

# Catalog and customers (ids 1..N). The counts are chosen so that the data keeps the models' rules:
# item n's customer is n mod USERS and its course n mod COURSES; USERS and COURSES are coprime, so no
# (course, customer) pair repeats below USERS × COURSES. The measured customer's seat in block k of 1,000
# is on course k, so theirs never repeat either. A slot is studio n mod STUDIOS at hour
# n div STUDIOS: the same studio never has two slots at one hour.
USERS = 20_000
COURSES = 20_011
STUDIOS = 199
SERVICES = 20
BEATS = 10_000

CATALOG_SQL = """
INSERT INTO accounts_user (id, password, is_superuser, first_name, last_name, is_staff, is_active, date_joined, email)
SELECT u, '!', false, 'Customer', u::text, false, true, now() - interval '3 years', 'customer' || u || '@bench.invalid'
FROM generate_series(1, %(users)s) AS u;

INSERT INTO catalog_course (id, title, slug, description, starts_at, ends_at, location, capacity, price_amount,
                            currency, published, created_at)
SELECT c, 'Course ' || c, 'course-' || c, '',
       now() - interval '1 year' + c * interval '2 years' / %(courses)s,
       now() - interval '1 year' + c * interval '2 years' / %(courses)s + interval '3 hours',
       'Studio ' || (c %% 5 + 1), 30, 9900, 'eur', true, now() - interval '3 years'
FROM generate_series(0, %(courses)s - 1) AS c;

INSERT INTO catalog_resource (id, name, kind, description, active)
SELECT r, 'Studio ' || r, 'room', '', true FROM generate_series(0, %(studios)s - 1) AS r;

INSERT INTO catalog_service (id, name, slug, description, duration_minutes, price_amount, currency, published)
SELECT s, 'Session type ' || s, 'session-' || s, '', 60, 6000, 'eur', true
FROM generate_series(0, %(services)s - 1) AS s;

INSERT INTO catalog_service_resources (service_id, resource_id)
SELECT r %% %(services)s, r FROM generate_series(0, %(studios)s - 1) AS r;

INSERT INTO catalog_product (id, title, slug, kind, description, file, price_amount, currency, published, created_at,
                             audio_status, audio_error, cover, genre, master, mood, mp3, musical_key, preview, stems,
                             waveform)
SELECT p, 'Beat ' || p, 'beat-' || p, 'digital', '', '', NULL, 'eur', true, now() - interval '3 years',
       'none', '', '', '', '', '', '', '', '', '', '[]'
FROM generate_series(0, %(beats)s - 1) AS p;

INSERT INTO catalog_license (id, tier, name, terms, price_amount, exclusive, active, product_id, credit_required,
                             deliverables)
SELECT p * 3 + t, (ARRAY['basic', 'premium', 'exclusive'])[t + 1],
       (ARRAY['Basic lease', 'Premium lease', 'Exclusive'])[t + 1],
       '', (ARRAY[2999, 7999, 49900])[t + 1], t = 2, true, p, true,
       (ARRAY['["mp3"]', '["mp3", "wav", "stems"]', '["mp3", "wav", "stems"]'])[t + 1]::jsonb
FROM generate_series(0, %(beats)s - 1) AS p, generate_series(0, 2) AS t;
"""

# One row per item n in 1..holds: its kind, owner, state and times. Every table below is filled from it,
# so orders, lines and holds agree (ids: order n, line n, hold n).
ITEMS_SQL = """
CREATE UNLOGGED TABLE bench_item AS
SELECT n,
       CASE WHEN n %% 10 < 4 THEN 'course' WHEN n %% 10 < 7 THEN 'service' ELSE 'product' END AS kind,
       CASE WHEN n %% %(mine_every)s = n / %(mine_every)s %% 10 THEN %(customer)s ELSE n %% %(users)s + 1 END
           AS user_id,
       CASE WHEN (n * 7919) %% 100 < 70 THEN 'confirmed'
            WHEN (n * 7919) %% 100 < 80 THEN 'failed'
            WHEN (n * 7919) %% 100 < 88 THEN 'expired'
            WHEN (n * 7919) %% 100 < 95 THEN 'refunded'
            ELSE 'pending' END AS order_status,
       now() - (%(holds)s - n) * interval '1 minute' AS created_at
FROM generate_series(1::bigint, %(holds)s::bigint) AS n;
ALTER TABLE bench_item ADD COLUMN hold_status text, ADD COLUMN price bigint, ADD COLUMN course_id bigint;
UPDATE bench_item SET
    course_id = CASE WHEN kind <> 'course' THEN NULL
                     WHEN user_id = %(customer)s THEN n / %(mine_every)s %% %(courses)s
                     ELSE n %% %(courses)s END,
    hold_status = CASE order_status WHEN 'confirmed' THEN 'confirmed' WHEN 'refunded' THEN 'cancelled'
                                    WHEN 'pending' THEN 'held' ELSE 'released' END,
    price = CASE kind WHEN 'course' THEN 9900 WHEN 'service' THEN 6000
                      ELSE CASE WHEN n %% 2 = 0 THEN 2999 ELSE 7999 END END;
"""

ORDERS_SQL = """
INSERT INTO orders_order (id, code, email, kind, status, currency, subtotal_amount, tax_amount,
                          shipping_amount, total_amount, amount_refunded, hold_expires_at, review_reason,
                          created_at, updated_at, user_id)
SELECT n, 'BD-B' || n, 'customer' || user_id || '@bench.invalid',
       CASE kind WHEN 'course' THEN 'course_booking' WHEN 'service' THEN 'reservation_payment' ELSE 'beats_only' END,
       order_status, 'eur', price, price * 19 / 119, 0, price,
       CASE WHEN order_status = 'refunded' THEN price ELSE 0 END,
       CASE WHEN order_status = 'pending' THEN now() + interval '30 minutes'
            ELSE created_at + interval '31 minutes' END,
       '', created_at, created_at, user_id
FROM bench_item;

INSERT INTO orders_orderline (id, kind, description, quantity, unit_amount, total_amount, course_id, license_id,
                              order_id, product_id, service_id, tax_rate, tax_amount, amount_refunded, status)
SELECT n, kind,
       CASE kind WHEN 'course' THEN 'Course ' || course_id WHEN 'service' THEN 'Session type '
            || (n %% %(studios)s %% %(services)s) ELSE 'Beat ' || (n %% %(beats)s) END,
       1, price, price,
       course_id,
       CASE WHEN kind = 'product' THEN (n %% %(beats)s) * 3 + n %% 2 END,
       n,
       CASE WHEN kind = 'product' THEN n %% %(beats)s END,
       CASE WHEN kind = 'service' THEN n %% %(studios)s %% %(services)s END,
       1900, price - (price * 10000 + 5950) / 11900,  -- 19 %% included, as orders.pricing rounds it
       CASE WHEN order_status = 'refunded' THEN price ELSE 0 END,
       CASE WHEN order_status = 'refunded' THEN 'cancelled' ELSE 'active' END
FROM bench_item;

INSERT INTO orders_booking (id, status, created_at, course_id, user_id, line_id)
SELECT n, hold_status, created_at, course_id, user_id, n FROM bench_item WHERE kind = 'course';

INSERT INTO orders_reservation (id, starts_at, ends_at, status, created_at, line_id, resource_id, service_id, user_id)
SELECT n, date_trunc('hour', now()) - interval '100 days' + (n / %(studios)s) * interval '1 hour',
       date_trunc('hour', now()) - interval '100 days' + (n / %(studios)s + 1) * interval '1 hour',
       hold_status, created_at, n, n %% %(studios)s, n %% %(studios)s %% %(services)s, user_id
FROM bench_item WHERE kind = 'service';

INSERT INTO orders_grant (id, exclusive, status, download_count, created_at, line_id, license_id, product_id, user_id)
SELECT n, false, hold_status, 0, created_at, n, (n %% %(beats)s) * 3 + n %% 2, n %% %(beats)s, user_id
FROM bench_item WHERE kind = 'product';

-- The measured customer's payment attempts (the list shows the latest one's status).
INSERT INTO payments_payment (attempt, session_id, checkout_url, payment_intent_id, status, amount, currency,
                              amount_received, amount_refunded, expires_at, created_at, updated_at, order_id)
SELECT 1, 'cs_test_bench_' || n, '',
       CASE WHEN order_status IN ('confirmed', 'refunded') THEN 'pi_bench_' || n ELSE NULL END,
       CASE order_status WHEN 'confirmed' THEN 'paid' WHEN 'refunded' THEN 'refunded' WHEN 'failed' THEN 'failed'
                         WHEN 'expired' THEN 'expired' ELSE 'open' END,
       price, 'eur', CASE WHEN order_status IN ('confirmed', 'refunded') THEN price ELSE 0 END,
       CASE WHEN order_status = 'refunded' THEN price ELSE 0 END,
       created_at + interval '31 minutes', created_at, created_at, n
FROM bench_item WHERE user_id = %(customer)s;
"""

SEQUENCES = [
    "accounts_user",
    "catalog_course",
    "catalog_resource",
    "catalog_service",
    "catalog_product",
    "catalog_license",
    "orders_order",
    "orders_orderline",
    "orders_booking",
    "orders_reservation",
    "orders_grant",
]

# Foreign keys were not checked during the load (session_replication_role = replica, for speed): check
# them now, once, with anti-joins. Each count must be 0.
CONSISTENCY_SQL = """
SELECT
  (SELECT count(*) FROM orders_orderline l LEFT JOIN orders_order o ON o.id = l.order_id WHERE o.id IS NULL),
  (SELECT count(*) FROM orders_booking b LEFT JOIN orders_orderline l ON l.id = b.line_id
     LEFT JOIN catalog_course c ON c.id = b.course_id LEFT JOIN accounts_user u ON u.id = b.user_id
     WHERE l.id IS NULL OR c.id IS NULL OR u.id IS NULL),
  (SELECT count(*) FROM orders_reservation r LEFT JOIN orders_orderline l ON l.id = r.line_id
     LEFT JOIN catalog_resource s ON s.id = r.resource_id LEFT JOIN catalog_service v ON v.id = r.service_id
     WHERE l.id IS NULL OR s.id IS NULL OR v.id IS NULL),
  (SELECT count(*) FROM orders_grant g LEFT JOIN orders_orderline l ON l.id = g.line_id
     LEFT JOIN catalog_license x ON x.id = g.license_id
     WHERE l.id IS NULL OR x.id IS NULL OR x.product_id <> g.product_id),
  (SELECT count(*) FROM orders_order o LEFT JOIN accounts_user u ON u.id = o.user_id WHERE u.id IS NULL)
"""

# Run inside the server's environment: the measured customer, verified, so allauth lets them log in.
CUSTOMER_SCRIPT = r"""
from bookdesk.accounts.services import user_ensure_verified

user, _ = user_ensure_verified(email=sys.argv[1], password=sys.argv[2])
print(user.pk)
"""

# Run inside the server's environment after ANALYZE: the plans of the page's main query and its count,
# built by the app's own selector (so the SQL is exactly what the endpoint runs).
EXPLAIN_SCRIPT = r"""
from django.db import connection
from django.test.utils import CaptureQueriesContext
from bookdesk.accounts.models import User
from bookdesk.bookings.filters import BookingFilters, BookingKind, BookingStatusFilter
from bookdesk.bookings.selectors import booking_page

user = User.objects.get(email=sys.argv[1])
cases = [
    ("page 1", 1, BookingFilters()),
    ("page 20", 20, BookingFilters()),
    ("status=confirmed&kind=course", 1, BookingFilters(status=BookingStatusFilter.CONFIRMED, kind=BookingKind.COURSE)),
]
report = []
for name, page, filters in cases:
    with CaptureQueriesContext(connection) as captured:
        booking_page(user=user, filters=filters, page=page, page_size=20)
    queries = []
    for query in captured.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + query["sql"])
            queries.append({"sql": query["sql"], "plan": [row[0] for row in cursor.fetchall()]})
    report.append({"name": name, "queries": queries})
print(json.dumps(report))
"""


# --- the data --------------------------------------------------------------------------------


def fill(database_url: str, *, holds: int, customer: int) -> dict[str, int]:
    """The catalog, the other customers, and `holds` orders/lines/holds; returns row counts."""
    sizes = {
        "users": USERS,
        "courses": COURSES,
        "studios": STUDIOS,
        "services": SERVICES,
        "beats": BEATS,
        "holds": holds,
        "customer": customer,
        "mine_every": MINE_EVERY,
    }
    with psycopg.connect(database_url, autocommit=False, connect_timeout=5) as conn:
        # Bulk load: no FK triggers (checked once afterwards), no waiting for the WAL flush.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET work_mem = '64MB'")
        for sql in (CATALOG_SQL, ITEMS_SQL, ORDERS_SQL):
            for statement in split(sql % sizes):
                conn.execute(statement)  # type: ignore[arg-type]
        for table in SEQUENCES:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.execute("DROP TABLE bench_item")
        conn.commit()
        broken = conn.execute(CONSISTENCY_SQL).fetchone()
        if broken is None or any(broken):
            raise BenchError(f"the generated data breaks a foreign key: {broken}")
        counts = {}
        for table in ("orders_order", "orders_orderline", "orders_booking", "orders_reservation", "orders_grant"):
            counts[table] = int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
        counts["mine"] = int(
            conn.execute(
                "SELECT (SELECT count(*) FROM orders_booking WHERE user_id = %(c)s)"
                " + (SELECT count(*) FROM orders_reservation WHERE user_id = %(c)s)"
                " + (SELECT count(*) FROM orders_grant WHERE user_id = %(c)s)",
                {"c": customer},
            ).fetchone()[0]  # type: ignore[index]
        )
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("VACUUM ANALYZE")
    return counts


def split(sql: str) -> list[str]:
    """The statements of a script (`;` at a line's end), without comment lines."""
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";\n") if statement.strip()]


# --- load ------------------------------------------------------------------------------------


def get_call(base: str, path: str, headers: dict[str, str], expect: bytes) -> Callable[[], Call]:
    def make() -> Call:
        connection = Connection(base)

        def call() -> str | None:
            status, body = connection.send("GET", path, None, headers)
            if status != 200 or expect not in body:
                return f"{status}: GET {path} {body[:160]!r}"
            return None

        return call

    return make


# --- the bench -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each load run (default 5)")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated client counts (default 1,8)")
    parser.add_argument("--holds", type=int, default=1_000_000, help="seats + slots + licenses in all (default 1M)")
    parser.add_argument("--server", choices=SERVERS, default="serve", help="web server (default: bookdesk serve)")
    parser.add_argument("--workers", type=int, default=2, help="web server processes (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="web server threads per process (default 8)")
    parser.add_argument("--quick", action="store_true", help="200,000 items and 2 s runs, for a smoke test")
    parser.add_argument("--keep-db", action="store_true", help=f"keep the database {DATABASE} for a look afterwards")
    parser.add_argument("--keep-logs", action="store_true", help="keep the server log and print where")
    parser.add_argument(
        "--settings",
        default="bookdesk.settings",
        help="the server's Django settings module (default bookdesk.settings; importable from PYTHONPATH), "
        "e.g. one that turns on PostgreSQL prepared statements to compare",
    )
    args = parser.parse_args(argv)
    seconds = 2.0 if args.quick else args.seconds
    holds = min(args.holds, 200_000) if args.quick else args.holds
    levels = [int(level) for level in args.concurrency.split(",") if level.strip()]
    if holds < MINE_EVERY or holds > USERS * COURSES:
        parser.error(f"--holds must be between {MINE_EVERY} and {USERS * COURSES}")

    return run_bench(
        "bookings", lambda pg, logs: bench(args, seconds, holds, levels, pg, logs), keep_logs=args.keep_logs
    )


def bench(args: argparse.Namespace, seconds: float, holds: int, levels: list[int], pg: str, logs: Path) -> int:
    with bench_database(pg, DATABASE, keep=args.keep_db) as database_url:
        web_port = free_port()
        web = f"http://127.0.0.1:{web_port}"
        env = app_env(
            database_url,
            logs,
            DJANGO_SETTINGS_MODULE=args.settings,
            ALLOWED_HOSTS="127.0.0.1",
            SITE_URL=web,
            ACCESS_LOG_LEVEL="WARNING",
            RATE_LIMIT_API="1000000/60",
            RATE_LIMIT_AUTH="1000/60",
        )
        started = time.perf_counter()
        migrate(env)
        # The other customers take ids 1..USERS; the measured one is created by the app after them.
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), {USERS})")
        customer = int(run_script(CUSTOMER_SCRIPT, [CUSTOMER_EMAIL, PASSWORD], env, "customer"))
        migrated = time.perf_counter()
        counts = fill(database_url, holds=holds, customer=customer)
        filled = time.perf_counter()
        total = counts["orders_booking"] + counts["orders_reservation"] + counts["orders_grant"]
        print(
            f"data: {total:,} seats/slots/licenses ({counts['orders_booking']:,} / {counts['orders_reservation']:,} / "
            f"{counts['orders_grant']:,}) in {counts['orders_order']:,} orders and "
            f"{counts['orders_orderline']:,} lines; "
            f"{counts['mine']:,} of them the measured customer's; migrate {migrated - started:.1f} s, "
            f"fill + VACUUM ANALYZE {filled - migrated:.1f} s"
        )
        plans = json.loads(run_script(EXPLAIN_SCRIPT, [CUSTOMER_EMAIL], env, "explain"))

        with web_serving(args.server, web_port, env, logs, workers=args.workers, threads=args.threads) as web_process:
            headers = {"X-Session-Token": login_token(web, CUSTOMER_EMAIL, PASSWORD), "Accept": "application/json"}
            status, body = request(web, "GET", "/api/bookings", headers=headers)
            if status != 200 or json.loads(body)["total"] != counts["mine"]:
                raise BenchError(f"GET /api/bookings answered {status}: {body[:300]!r}")
            page20 = json.loads(request(web, "GET", "/api/bookings?page=20", headers=headers)[1])
            print(
                f"GET /api/bookings: total {counts['mine']}, {json.loads(body)['pages']} pages of 20; "
                f"page 20 has {len(page20['items'])} items"
            )
            print(
                f"server: {server_label(args.server, workers=args.workers, threads=args.threads)}, DEBUG off, "
                f"PostgreSQL {pg}; {os.cpu_count()} CPUs; runs of {seconds:g} s\n"
            )
            endpoints = [
                ("GET /healthz", get_call(web, "/healthz", {}, b"ok")),
                ("GET /api/bookings", get_call(web, "/api/bookings", headers, b'"items"')),
                ("GET /api/bookings?page=20", get_call(web, "/api/bookings?page=20", headers, b'"items"')),
                (
                    "GET …?status=confirmed&kind=course",
                    get_call(web, "/api/bookings?status=confirmed&kind=course", headers, b'"items"'),
                ),
            ]
            # Warm-up: every server thread opens its database connection, imports settle.
            for _, make in endpoints:
                run = run_load(make, max(levels), 1.0)
                if run.errors:
                    raise BenchError(f"warm-up: {run.errors} errors, first: {run.first_error}")
            results: list[tuple[int, str, Run]] = []
            load_before = os.getloadavg()
            for concurrency in levels:
                for name, make in endpoints:
                    results.append((concurrency, name, run_load(make, concurrency, seconds)))
                exited(web_process, logs / "web.log", "the web server")
        status = report(results)
        load_after = os.getloadavg()
        print(
            f"machine load (1-minute average) before the runs {load_before[0]:.1f}, after {load_after[0]:.1f} "
            f"on {os.cpu_count()} CPUs: other processes share the machine; compare with the ratios to /healthz."
        )
        report_plans(plans)
        return status


INDEX_USED = re.compile(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan) (?:Backward )?(?:using |on )(\w+)")
SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


def report(results: list[tuple[int, str, Run]]) -> int:
    print_header(
        f"{'conc':>4}  {'endpoint':<36}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}{'rate/hz':>9}{'p95/hz':>8}"
    )
    failed, worst = False, 0.0
    health: dict[int, Run] = {c: run for c, name, run in results if name == "GET /healthz"}
    for concurrency, name, run in results:
        base = health.get(concurrency)
        ratios = ""
        if name != "GET /healthz" and base and base.rate and base.latencies:
            ratios = f"{run.rate / base.rate:9.3f}{run.percentile(0.95) / base.percentile(0.95):8.1f}"
            worst = max(worst, run.percentile(0.95))
        print(
            f"{concurrency:>4}  {name:<36}{run.rate:8.1f}{ms(run.percentile(0.5)):>9}{ms(run.percentile(0.95)):>9}"
            f"{run.errors:>8}{ratios}"
        )
        if run.errors:
            failed = True
            print(f"      first error: {run.first_error[:200]}")
    print("\nrate/hz and p95/hz: against GET /healthz on the same server at the same concurrency.")
    met = worst <= TARGET_P95
    print(
        f"target (p95 <= {TARGET_P95 * 1000:.0f} ms for every bookings request): "
        f"{'MET' if met else 'MISSED'} (worst p95 {ms(worst)} ms)"
    )
    if failed:
        print("FAILED: some requests did not succeed (see above)")
        return 1
    return 0


def report_plans(report: list[dict[str, Any]]) -> None:
    """Each page's queries in one line (tables, indexes used, time); the keys query's plan in full."""
    print("\nQueries of one page (the selector's own SQL, run once, then EXPLAIN ANALYZE):")
    for case in report:
        print(f"\n-- {case['name']}: {len(case['queries'])} queries")
        for number, query in enumerate(case["queries"], 1):
            plan: list[str] = query["plan"]
            indexes = sorted({m.group(1) for line in plan if (m := INDEX_USED.search(line))})
            scans = sorted({m.group(1) for line in plan if (m := SEQ_SCAN.search(line))})
            took = " + ".join(
                line.split(":", 1)[1].strip() for line in plan if line.startswith(("Planning Time", "Execution Time"))
            )
            print(f"   {number}. {took} (planning + execution)")
            print(f"      indexes: {', '.join(indexes) or '-'}" + (f"; SEQ SCAN: {', '.join(scans)}" if scans else ""))
        if case["name"] in {"page 1", "page 20"} and case["queries"]:
            print(f"   plan of query 1 (the page's keys and the total, {case['name']}):")
            for line in case["queries"][0]["plan"]:
                print(f"      {line}")


if __name__ == "__main__":
    sys.exit(main())
