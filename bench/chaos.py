"""A chaos run: many orders through the whole system while webhooks are dropped, duplicated and reordered,
Stripe's API fails now and then, and workers are killed; then every invariant is checked and printed.

    python bench/chaos.py [--orders 1000] [--customers 40] [--seed 7] [--workers 2] [--kill-every 4]
                          [--drop 0.3] [--duplicate 0.3] [--api-errors 0.03] [--database-url URL]

Processes, as in production: the Stripe sandbox (``python -m stripe_sandbox``, delivering to the web
server's webhook intake with the faults above), the web server (``bookdesk serve``), ``--workers`` workers
(``bookdesk worker``). A killer SIGKILLs a random worker every ``--kill-every`` seconds and starts a new
one, so events are claimed by workers that die mid-batch. ``--customers`` threads place ``--orders``
orders over the API and pay them through the sandbox's test helper in every way (bench/chaos_traffic.py).

Then the faults stop, the last deliveries land, the workers drain the inbox, ``bookdesk reconcile`` runs
and the workers drain it again; the invariants (bench/chaos_invariants.py) are read from bookdesk's
database and from the sandbox:

  paid → confirmed or refunded; no oversold course; one exclusive per beat and no lease sold after it;
  one confirmation and one email per confirmed order; no dead or failed webhook event; no 5xx; and the
  money Stripe kept equal to the cent to what bookdesk's payments kept and its confirmed orders owe.

Against PostgreSQL (a throw-away database, as every bench), or ``--database-url sqlite:///FILE``.
Exits 1 if any invariant broke. ``tests/chaos`` runs it with about 100 orders on the suite's database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import stripe

from benchkit import (
    BOOKDESK,
    BenchError,
    app_env,
    bench_database,
    free_port,
    login_token,
    migrate,
    pg_base,
    request,
    run_checked,
    run_script,
    serving,
    stop,
    web_serving,
)
from chaos_invariants import Invariant, check
from chaos_traffic import Catalog, Tally, run_customers

WEBHOOK_SECRET = "whsec_chaos_run"
PASSWORD = "chaos-Run-password-1"

SETUP = r"""
from bookdesk.catalog.models import Course, License, Product
customers, courses, beats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
bench_users(customers, password=sys.argv[4])
starts = timezone.now() + timedelta(days=20)
made = Course.objects.bulk_create([
    Course(title=f"Chaos course {i}", slug=f"chaos-{i}", starts_at=starts + timedelta(hours=i),
           ends_at=starts + timedelta(hours=i, minutes=90), capacity=3 + i % 5, price_amount=2500 + 100 * i,
           currency=settings.BOOKDESK_CURRENCY)
    for i in range(courses)
])
out = {"course_ids": [c.pk for c in made], "beats": []}
for i in range(beats):
    beat = Product.objects.create(title=f"Chaos beat {i}", slug=f"chaos-beat-{i}", kind="digital",
                                  currency=settings.BOOKDESK_CURRENCY)
    basic = License.objects.create(product=beat, tier="basic", name="Basic lease", price_amount=2999)
    exclusive = License.objects.create(product=beat, tier="exclusive", name="Exclusive", price_amount=49900,
                                       exclusive=True)
    out["beats"].append({"product": beat.pk, "basic": basic.pk, "exclusive": exclusive.pk})
print(json.dumps(out))
"""


class Workers:
    """`count` worker processes; `kill_one` SIGKILLs a random one and starts its replacement."""

    def __init__(self, env: dict[str, str], logs: Path, count: int, rng: random.Random) -> None:
        self.env, self.logs, self.rng = env, logs, rng
        self.processes: list[subprocess.Popen[bytes]] = []
        self.kills = 0
        self.started = 0
        for _ in range(count):
            self.start()

    def start(self) -> None:
        self.started += 1
        with (self.logs / f"worker-{self.started}.log").open("ab") as out:
            argv = [*BOOKDESK, "worker", "--interval", "0.2", "--sweep-interval", "2"]
            self.processes.append(
                subprocess.Popen(argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            )

    def kill_one(self) -> None:
        victim = self.processes.pop(self.rng.randrange(len(self.processes)))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        self.kills += 1
        self.start()

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


@contextlib.contextmanager
def killing(workers: Workers, every: float) -> Iterator[None]:
    done = threading.Event()

    def killer() -> None:
        while not done.wait(every):
            workers.kill_one()
        while workers.kills < 2:  # a short run still kills twice, while deliveries and the inbox are busy
            workers.kill_one()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def sandbox_argv(port: int, web: int, args: argparse.Namespace) -> list[str]:
    return [
        *(sys.executable, "-m", "stripe_sandbox", "--port", str(port)),
        *("--webhook", f"http://127.0.0.1:{web}/api/stripe/webhook", "--webhook-secret", WEBHOOK_SECRET),
        *("--webhook-drop-rate", str(args.drop), "--webhook-duplicate-rate", str(args.duplicate)),
        *("--webhook-reorder", "--error-rate", str(args.api_errors), "--retry-schedule", "0.5,1,2,4"),
        *("--seed", str(args.seed)),
    ]


def inbox_due(database_url: str) -> int:
    """Webhook events stored and not yet applied, read straight from the database (no Django start-up)."""
    query = "SELECT count(*) FROM payments_webhookevent WHERE status = 'received'"
    if database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=30)) as conn:
            return int(conn.execute(query).fetchone()[0])
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        return int(conn.execute(query).fetchone()[0])  # type: ignore[index]


def settle(sandbox: str, database_url: str, *, timeout: float = 180) -> None:
    """Until the sandbox has no delivery under way and the inbox holds nothing due (or `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = request(sandbox, "GET", "/_sandbox/deliveries")
        pending = json.loads(body).get("pending", 0) if status == 200 else 1
        if not pending and inbox_due(database_url) == 0:
            return
        time.sleep(0.5)
    raise BenchError(f"deliveries or the inbox did not settle within {timeout:.0f} s")


def chaos(database_url: str, logs: Path, args: argparse.Namespace) -> tuple[list[Invariant], Tally, Workers]:
    rng = random.Random(args.seed)
    web_port, sandbox_port = free_port(), free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    env = app_env(
        database_url,
        logs,
        STRIPE_API_BASE=sandbox,
        STRIPE_SECRET_KEY="sk_test_chaos",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        SITE_URL=f"http://127.0.0.1:{web_port}",
        RATE_LIMIT_API="1000000/60",
        RATE_LIMIT_CHECKOUT="1000000/60",
        RATE_LIMIT_CHECKOUT_IP="1000000/60",
        RATE_LIMIT_AUTH="1000000/60",
        RATE_LIMIT_HOLDS_IP="1000000/60",  # every customer of the run comes from this one IP
        RECONCILE_INTERVAL_SECONDS="100000",
    )
    migrate(env)
    setup = run_script(SETUP, [str(args.customers), str(args.courses), str(args.beats), PASSWORD], env, "setup")
    made = json.loads(setup.splitlines()[-1])
    catalog = Catalog(course_ids=made["course_ids"], beats=made["beats"])
    client = stripe.StripeClient("sk_test_chaos", base_addresses={"api": sandbox}, max_network_retries=5)
    sandbox_log = logs / "sandbox.log"
    with (
        serving(sandbox_argv(sandbox_port, web_port, args), env, sandbox_log, sandbox, "/_sandbox/health", "sandbox"),
        web_serving("serve", web_port, env, logs, workers=2, threads=8),
    ):
        base = f"http://127.0.0.1:{web_port}"
        tokens = [login_token(base, f"bench{i}@example.com", PASSWORD) for i in range(args.customers)]
        workers = Workers(env, logs, args.workers, rng)
        try:
            started = time.monotonic()
            with killing(workers, args.kill_every):
                tally = run_customers(base, tokens, catalog, orders=args.orders, seed=args.seed, stripe_client=client)
            took = time.monotonic() - started
            print(f"traffic: {args.orders} orders in {took:.1f} s, {workers.kills} workers killed", flush=True)
            request(sandbox, "DELETE", "/_sandbox/faults")  # the storm is over; retries now land
            time.sleep(3)  # SEPA payments settle (1 s) and send their events
            settle(sandbox, database_url)
            print(run_checked([*BOOKDESK, "reconcile", "--since", "1d"], env, "reconcile").strip(), flush=True)
            settle(sandbox, database_url)
            invariants = check(env, client, server_errors=tally.server_errors)
        finally:
            workers.stop()
    return invariants, tally, workers


def report(invariants: list[Invariant], tally: Tally, workers: Workers, args: argparse.Namespace) -> int:
    print(
        f"\nfaults: webhooks dropped {args.drop:.0%}, duplicated {args.duplicate:.0%}, reordered; "
        f"API errors {args.api_errors:.0%}; {workers.kills} workers killed (one every {args.kill_every} s)"
    )
    print(f"orders placed: {len(tally.orders)} of {args.orders} tries; scenarios {dict(tally.scenarios)}")
    print(f"payments: {dict(tally.payments)}")
    print(f"refusals: {dict(tally.refusals)}")
    for code, detail in tally.examples.items():
        print(f"  {code}: e.g. {detail}")
    print(f"answers by status: {dict(sorted(tally.statuses.items()))}\n")
    for invariant in invariants:
        print(f"  {'held  ' if invariant.held else 'BROKEN'}  {invariant.name}: {invariant.figures}")
    broken = [i for i in invariants if not i.held]
    print(f"\n{len(invariants) - len(broken)} of {len(invariants)} invariants held")
    return 1 if broken else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--courses", type=int, default=12)
    parser.add_argument("--beats", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=4.0)
    parser.add_argument("--drop", type=float, default=0.3)
    parser.add_argument("--duplicate", type=float, default=0.3)
    parser.add_argument("--api-errors", type=float, default=0.03)
    parser.add_argument("--database-url", default="", help="default: a throw-away PostgreSQL database")
    parser.add_argument("--logs", default="", help="keep the processes' logs in this folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with tempfile.TemporaryDirectory(prefix="chaos_") as folder:
        logs = Path(args.logs or folder)
        logs.mkdir(parents=True, exist_ok=True)
        try:
            if args.database_url:
                return report(*chaos(args.database_url, logs, args), args)
            pg, _ = pg_base()
            with bench_database(pg, f"bookdesk_chaos_{os.getpid()}") as url:
                return report(*chaos(url, logs, args), args)
        except BenchError as exc:
            print(f"\nFAILED: {exc}")
            for log in sorted(logs.glob("*.log")):
                print(f"--- {log.name} (tail)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
            return 1


if __name__ == "__main__":
    sys.exit(main())
