"""Benchmark the Stripe sandbox: session creation with the real SDK, and latency fault accuracy.

    python bench/bench_sandbox.py [--seconds 5] [--concurrency 1,8,32] [--in-process]

Starts the sandbox as a subprocess (``python -m stripe_sandbox --port N``) so that the client
threads do not share a GIL with the server, then prints:

1. checkout sessions created per second with the real SDK at each concurrency (threads, each with
   its own ``StripeClient``, no retries), p50/p95 latency, against a bare endpoint
   (``GET /_sandbox/health``) measured the same way in the same run, as ratios; next to each rate,
   the sandbox's CPU per request (user + system CPU of the sandbox process from ``/proc/<pid>/stat``
   over the run, divided by the requests answered);
2. the sandbox's CPU per request of each call the app makes (session create as the app sends it,
   retrieve with ``expand[]``, expire, ``GET /v1/events``), the create also with the latency fault on
   at many clients as in ``bench_checkout.py``, and the sandbox's CPU when idle;
3. the latency fault's accuracy: requested vs measured added latency (median over N requests).

CPU figures need the sandbox in its own process: with ``--in-process`` they are left out.

Bounded in time; stops by itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
import stripe

from benchkit import ROOT, free_port, ms, request
from benchload import Call, Exhausted, Run, process_cpu, run_load

SESSION_PARAMS = {
    "mode": "payment",
    "success_url": "http://127.0.0.1:8000/payment/success?session_id={CHECKOUT_SESSION_ID}",
    "cancel_url": "http://127.0.0.1:8000/payment/cancel?order=BENCH",
    "client_reference_id": "BENCH",
    "line_items": [
        {
            "quantity": 1,
            "price_data": {"currency": "eur", "unit_amount": 4500, "product_data": {"name": "Bench course"}},
        }
    ],
}


# The app's session create (payments/gateway.py): an order's lines, metadata and an idempotency key.
APP_SESSION_PARAMS = {
    **SESSION_PARAMS,
    "customer_email": "bench@example.com",
    "metadata": {"order": "BENCH", "user": "1", "type": "course", "total": "4500", "currency": "eur"},
    "payment_intent_data": {"metadata": {"order": "BENCH"}},
}
RETRIEVE_EXPAND = ["line_items", "payment_intent"]


# --- the sandbox -----------------------------------------------------------------------------


@dataclass
class Target:
    """The sandbox under test: its base URL, and its process id when it runs in a process of its own."""

    base: str
    pid: int | None


@contextmanager
def sandbox_subprocess() -> Iterator[Target]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    process = subprocess.Popen(
        [sys.executable, "-m", "stripe_sandbox", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process)
        yield Target(base, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def sandbox_in_process() -> Iterator[Target]:
    sys.path.insert(0, str(ROOT / "src"))
    from stripe_sandbox.server import Sandbox

    sandbox = Sandbox()
    base = sandbox.start(host="127.0.0.1", port=0).rstrip("/")
    try:
        yield Target(base, None)
    finally:
        sandbox.stop()


def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise SystemExit(f"the sandbox exited with {process.returncode}:\n{stderr}")
        try:
            status, _ = request(base, "GET", "/_sandbox/health")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("the sandbox did not answer /_sandbox/health within 20 s")


def client_for(base: str) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_bench", base_addresses={"api": base}, max_network_retries=0)


# --- load ------------------------------------------------------------------------------------


def answered(make_call: Callable[[], Callable[[], object]]) -> Callable[[], Call]:
    """The SDK raises what goes wrong (a failure to `run_load`): whatever a call returns is an answer."""

    def make() -> Call:
        call = make_call()

        def answer() -> None:
            call()

        return answer

    return make


@dataclass
class Measured:
    """A load run and the sandbox's CPU seconds during it (None when it shares this process)."""

    run: Run
    cpu: float | None

    @property
    def cpu_ms_per_request(self) -> float | None:
        answered = len(self.run.latencies) + self.run.errors
        return self.cpu * 1000 / answered if self.cpu is not None and answered else None


def measured_load(
    target: Target, make_call: Callable[[], Callable[[], object]], concurrency: int, seconds: float
) -> Measured:
    before = process_cpu(target.pid)
    run = run_load(answered(make_call), concurrency, seconds)
    after = process_cpu(target.pid)
    return Measured(run, after - before if before is not None and after is not None else None)


def cpu_ms(measured: Measured) -> str:
    value = measured.cpu_ms_per_request
    return "n/a" if value is None else f"{value:.2f}"


def session_create_call(base: str) -> Callable[[], Callable[[], object]]:
    def make() -> Callable[[], object]:
        client = client_for(base)
        return lambda: client.v1.checkout.sessions.create(params=SESSION_PARAMS)  # type: ignore[arg-type]

    return make


def app_session_create_call(base: str, created: list[str]) -> Callable[[], Callable[[], object]]:
    """The create as the app sends it (``raw_request``, an idempotency key); keeps each session's id."""

    def make() -> Callable[[], object]:
        client = client_for(base)
        counter = iter(range(10**9))
        prefix = f"bench:{threading.get_ident()}:{time.time_ns()}"

        def call() -> object:
            key = f"{prefix}:{next(counter)}"
            answer = client.raw_request("post", "/v1/checkout/sessions", idempotency_key=key, **APP_SESSION_PARAMS)
            created.append(answer.data["id"])
            return answer

        return call

    return make


def retrieve_call(base: str, session_id: str) -> Callable[[], Callable[[], object]]:
    def make() -> Callable[[], object]:
        client = client_for(base)
        params = {"expand": RETRIEVE_EXPAND}
        return lambda: client.v1.checkout.sessions.retrieve(session_id, params=params)  # type: ignore[arg-type]

    return make


def expire_call(base: str, open_sessions: list[str]) -> Callable[[], Callable[[], object]]:
    """Expire the sessions of ``open_sessions`` one each (list.pop is atomic), until none is left."""

    def make() -> Callable[[], object]:
        client = client_for(base)

        def call() -> object:
            try:
                session_id = open_sessions.pop()
            except IndexError:
                raise Exhausted from None
            return client.v1.checkout.sessions.expire(session_id)

        return call

    return make


def events_list_call(base: str) -> Callable[[], Callable[[], object]]:
    def make() -> Callable[[], object]:
        client = client_for(base)
        return lambda: client.v1.events.list()

    return make


def health_call(base: str) -> Callable[[], Callable[[], object]]:
    url = f"{base}/_sandbox/health"

    def make() -> Callable[[], object]:
        # The same HTTP stack as the SDK (a requests.Session per client), so the ratio is the
        # cost of the API and the SDK's own work, not of a different transport.
        session = requests.Session()

        def call() -> object:
            response = session.get(url, timeout=10)
            if response.status_code != 200:
                raise RuntimeError(f"health answered {response.status_code}")
            return response.content

        return call

    return make


# --- latency fault ---------------------------------------------------------------------------


def measure_latency_fault(base: str, requested_ms: list[int], samples: int) -> list[tuple[int, float, float]]:
    """(requested, median latency, median added over no fault) for each requested latency."""
    client = client_for(base)
    session_id = client.v1.checkout.sessions.create(params=SESSION_PARAMS).id  # type: ignore[arg-type]

    def median_ms() -> float:
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            client.v1.checkout.sessions.retrieve(session_id)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    results = []
    try:
        request(base, "DELETE", "/_sandbox/faults")
        baseline = median_ms()
        for latency in requested_ms:
            if latency == 0:
                results.append((0, baseline, 0.0))
                continue
            status, body = request(base, "POST", "/_sandbox/faults", {"latency_ms": latency})
            if status >= 300:
                raise SystemExit(f"POST /_sandbox/faults answered {status}: {body[:200]!r}")
            measured = median_ms()
            results.append((latency, measured, measured - baseline))
    finally:
        request(base, "DELETE", "/_sandbox/faults")
    return results


# --- report ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each load run (default 5)")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated thread counts (default 1,8,32)")
    parser.add_argument("--latency", default="0,50,200", help="latency faults to check, in ms (default 0,50,200)")
    parser.add_argument("--samples", type=int, default=50, help="requests per latency fault (default 50)")
    parser.add_argument(
        "--calls-concurrency", type=int, default=8, help="threads for the per-call CPU runs (default 8)"
    )
    parser.add_argument(
        "--fault-latency",
        type=int,
        default=300,
        help="latency fault for the create under many clients, in ms (default 300, as bench_checkout; 0 skips it)",
    )
    parser.add_argument(
        "--fault-concurrency", type=int, default=64, help="clients for the create with the latency fault (default 64)"
    )
    parser.add_argument("--in-process", action="store_true", help="run the sandbox in this process")
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.concurrency.split(",") if level.strip()]
    latencies = [int(latency) for latency in args.latency.split(",") if latency.strip()]

    start = sandbox_in_process if args.in_process else sandbox_subprocess
    where = "in-process" if args.in_process else "subprocess"
    with start() as target:
        base = target.base
        print(f"Stripe sandbox at {base} ({where}), stripe {stripe.VERSION}, {os.cpu_count()} CPUs")
        print(f"load runs of {args.seconds:g} s; threads each with their own client; no retries\n")
        header = (
            f"{'conc':>4}  {'endpoint':<30}{'req/s':>9}{'cpu ms/req':>11}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}"
            f"{'rate/health':>13}{'p50/health':>12}"
        )
        print(header)
        print("-" * len(header))
        floor_ms = 0.0
        for concurrency in levels:
            health = measured_load(target, health_call(base), concurrency, args.seconds)
            if concurrency == 1:
                floor_ms = health.run.percentile(0.5) * 1000
            create = measured_load(target, session_create_call(base), concurrency, args.seconds)
            for name, measured in (("GET /_sandbox/health", health), ("SDK checkout.sessions.create", create)):
                run = measured.run
                ratios = ""
                if measured is create and health.run.rate and health.run.latencies:
                    ratios = (
                        f"{run.rate / health.run.rate:13.2f}{run.percentile(0.5) / health.run.percentile(0.5):12.2f}"
                    )
                print(
                    f"{concurrency:>4}  {name:<30}{run.rate:9.0f}{cpu_ms(measured):>11}{ms(run.percentile(0.5)):>9}"
                    f"{ms(run.percentile(0.95)):>9}{run.errors:>8}{ratios}"
                )
            for measured in (health, create):
                if measured.run.first_error:
                    print(f"      first error: {measured.run.first_error[:160]}")
        print(
            "\ncpu ms/req = the sandbox process's user + system CPU (/proc/<pid>/stat) during the run"
            "\n             / requests answered; the figure that counts on a shared machine (rates are noisy)"
        )

        if floor_ms and floor_ms >= 35:
            print(
                f"\nnote: GET /_sandbox/health takes {floor_ms:.0f} ms at p50 with one client. A fixed floor like"
                "\n      this is the Nagle / delayed-ACK stall: the server writes headers and body separately"
                "\n      on a kept-alive connection without TCP_NODELAY. Every figure above is bounded by it."
            )
        if target.pid is not None:
            report_calls(target, args)
        print(f"\nlatency fault (SDK checkout.sessions.retrieve, median of {args.samples} requests, concurrency 1)")
        header = f"{'requested ms':>12}{'median ms':>11}{'added ms':>10}{'error ms':>10}"
        print(header)
        print("-" * len(header))
        for requested, measured_ms, added in measure_latency_fault(base, latencies, args.samples):
            print(f"{requested:>12}{measured_ms:11.1f}{added:10.1f}{added - requested:+10.1f}")
    return 0


def report_calls(target: Target, args: argparse.Namespace) -> None:
    """The sandbox's CPU per request of each call the app makes, and when idle."""
    base, concurrency, seconds = target.base, args.calls_concurrency, args.seconds
    created: list[str] = []
    runs: list[tuple[str, int, Measured]] = []

    def measure(name: str, make_call: Callable[[], Callable[[], object]], clients: int = concurrency) -> None:
        runs.append((name, clients, measured_load(target, make_call, clients, seconds)))

    measure("create as the app sends it", app_session_create_call(base, created))
    measure("retrieve expand line_items, pi", retrieve_call(base, created[0]))
    open_sessions = list(created)
    measure("expire", expire_call(base, open_sessions))
    events = len(created) - len(open_sessions)  # one checkout.session.expired each
    measure(f"GET /v1/events ({events} events)", events_list_call(base))
    if args.fault_latency:
        status, body = request(base, "POST", "/_sandbox/faults", {"latency_ms": args.fault_latency})
        if status >= 300:
            raise SystemExit(f"POST /_sandbox/faults answered {status}: {body[:200]!r}")
        try:
            name = f"create, latency fault {args.fault_latency} ms"
            measure(name, app_session_create_call(base, []), args.fault_concurrency)
        finally:
            request(base, "DELETE", "/_sandbox/faults")
    idle_before = process_cpu(target.pid)
    time.sleep(2.0)
    idle_after = process_cpu(target.pid)

    print(f"\nsandbox CPU per call (load runs of {seconds:g} s)")
    header = f"{'conc':>4}  {'call':<42}{'req/s':>9}{'cpu ms/req':>11}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}"
    print(header)
    print("-" * len(header))
    for name, clients, measured in runs:
        run = measured.run
        print(
            f"{clients:>4}  {name:<42}{run.rate:9.0f}{cpu_ms(measured):>11}{ms(run.percentile(0.5)):>9}"
            f"{ms(run.percentile(0.95)):>9}{run.errors:>8}"
        )
        if run.first_error:
            print(f"      first error: {run.first_error[:160]}")
    if idle_before is not None and idle_after is not None:
        print(f"idle: {(idle_after - idle_before) * 1000 / 2.0:.1f} ms CPU per second")


if __name__ == "__main__":
    sys.exit(main())
