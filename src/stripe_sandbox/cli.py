"""Command line: ``python -m stripe_sandbox`` or ``bookdesk stripe-sandbox``.

``main(argv)`` blocks until Ctrl-C or SIGTERM and returns the exit status.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from stripe_sandbox.errors import StripeError
from stripe_sandbox.faults import Faults
from stripe_sandbox.objects import API_VERSION
from stripe_sandbox.server import DEFAULT_PORT, Sandbox
from stripe_sandbox.webhooks import DEFAULT_RETRY_SCHEDULE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stripe-sandbox",
        description="A local, stateful Stripe API sandbox for the official SDK.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="register a webhook endpoint for all events (repeatable)",
    )
    parser.add_argument(
        "--webhook-secret",
        action="append",
        default=[],
        metavar="WHSEC",
        help="signing secret for the --webhook of the same position (one for all, or one each)",
    )
    parser.add_argument("--db", metavar="FILE", help="keep state in this SQLite file")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--rate-limit-rate", type=float, default=0.0)
    parser.add_argument("--webhook-drop-rate", type=float, default=0.0)
    parser.add_argument("--webhook-duplicate-rate", type=float, default=0.0)
    parser.add_argument("--webhook-reorder", action="store_true")
    parser.add_argument(
        "--retry-schedule",
        metavar="SECONDS,…",
        help="seconds between webhook attempts, e.g. 0.2,0.4,0.8 "
        f"(default {','.join(str(s) for s in DEFAULT_RETRY_SCHEDULE)})",
    )
    parser.add_argument("--seed", type=int, help="seed for fault injection")
    parser.add_argument("--log-requests", action="store_true")
    return parser


def _retry_schedule(text: str | None, parser: argparse.ArgumentParser) -> tuple[float, ...]:
    if not text:
        return DEFAULT_RETRY_SCHEDULE
    try:
        schedule = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        parser.error(f"--retry-schedule: not a list of seconds: {text!r}")
    if any(delay < 0 for delay in schedule):
        parser.error("--retry-schedule: delays must be zero or more")
    return schedule


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    webhooks: list[str] = args.webhook
    secrets: list[str] = args.webhook_secret
    if secrets and len(secrets) not in (1, len(webhooks)):
        parser.error("give one --webhook-secret, or one for each --webhook")
    if secrets and not webhooks:
        parser.error("--webhook-secret needs a --webhook")
    for given in secrets:
        if not given.startswith("whsec_"):
            parser.error("--webhook-secret must start with whsec_")
    try:
        faults = Faults(
            latency_ms=args.latency_ms,
            error_rate=args.error_rate,
            rate_limit_rate=args.rate_limit_rate,
            webhook_drop_rate=args.webhook_drop_rate,
            webhook_duplicate_rate=args.webhook_duplicate_rate,
            webhook_reorder=args.webhook_reorder,
        )
    except StripeError as error:
        parser.error(error.message)
    sandbox = Sandbox(
        args.db,
        webhook_retry_schedule=_retry_schedule(args.retry_schedule, parser),
        faults=faults,
        seed=args.seed,
        log_requests=args.log_requests,
    )
    # The handler is in place before anything is printed: whoever reads "listening" may stop us at once.
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        base_url = sandbox.start(host=args.host, port=args.port)
    except OSError as error:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        print(f"stripe-sandbox: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    state = str(args.db or "memory")
    print(f"stripe-sandbox listening on {base_url} (API version {API_VERSION}, state: {state})", flush=True)
    for index, url in enumerate(webhooks):
        secret = secrets[index if len(secrets) > 1 else 0] if secrets else None
        endpoint = sandbox.add_webhook_endpoint(url, secret)
        print(f"stripe-sandbox: webhooks for all events → {url} (secret {endpoint['secret']})", flush=True)

    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
        print("stripe-sandbox stopped", flush=True)
    return 0
