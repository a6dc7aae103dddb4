"""The sandbox served over HTTP: its state, the WSGI application, a server and the timer loop.

The server is cheroot's (HTTP/1.1, keep-alive, a pool of threads) in a background thread of this
process, for the tests' in-process sandbox and the command line alike.

>>> sandbox = Sandbox()
>>> base_url = sandbox.start(port=0)   # background threads; port 0 picks a free port
>>> ...                                 # stripe.StripeClient(key, base_addresses={"api": base_url})
>>> sandbox.stop()
"""

from __future__ import annotations

import threading
from typing import Any

from cheroot import wsgi

from stripe_sandbox import timers
from stripe_sandbox.app import MAX_BODY_BYTES, SandboxApp
from stripe_sandbox.clock import Clock
from stripe_sandbox.faults import Faults
from stripe_sandbox.objects import API_VERSION
from stripe_sandbox.state import DEFAULT_PORT, State
from stripe_sandbox.store import Store
from stripe_sandbox.timers import SWEEP_INTERVAL_SECONDS, TimerLoop
from stripe_sandbox.webhooks import DEFAULT_RETRY_SCHEDULE, DELIVERY_TIMEOUT_SECONDS, WebhookDispatcher

__all__ = ["DEFAULT_PORT", "MAX_BODY_BYTES", "Sandbox"]

# Threads answering requests. A request holds one only while it is read and answered (kept-alive
# connections wait in the server's selector), but a latency fault holds it for the whole pause:
# bench_checkout.py drives 64 clients at a 300 ms fault.
SERVER_THREADS = 128
MAX_HEADER_BYTES = 65_536  # the request line and the header fields together
KEEP_ALIVE_SECONDS = 300  # an idle connection is closed after this (and a stalled read given up)
MAX_KEPT_ALIVE = 10_000  # connections kept alive at once (cheroot's default, 10, would close the rest)
POLL_SECONDS = 0.05  # how soon the serving loop notices stop()


class Sandbox:
    """A :class:`~stripe_sandbox.state.State` served over HTTP, with its timers running."""

    def __init__(
        self,
        db_path: str | None = None,
        *,
        webhook_retry_schedule: tuple[float, ...] | list[float] = DEFAULT_RETRY_SCHEDULE,
        webhook_timeout: float = DELIVERY_TIMEOUT_SECONDS,
        faults: Faults | None = None,
        seed: int | None = None,
        sweep_interval: float = SWEEP_INTERVAL_SECONDS,
        api_versions: tuple[str, ...] = (API_VERSION,),
        log_requests: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self.state = State(
            db_path,
            clock=clock,
            faults=faults,
            seed=seed,
            webhook_retry_schedule=webhook_retry_schedule,
            webhook_timeout=webhook_timeout,
            api_versions=api_versions,
        )
        self.app = SandboxApp(self.state, log_requests=log_requests)
        self.timers = TimerLoop(self.state, sweep_interval)
        self._server: wsgi.Server | None = None
        self._thread: threading.Thread | None = None

    # --- the state, as tests and the command line use it ------------------------------

    @property
    def base_url(self) -> str:
        return self.state.base_url

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def faults(self) -> Faults:
        return self.state.faults

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def dispatcher(self) -> WebhookDispatcher:
        return self.state.dispatcher

    def now(self) -> float:
        return self.state.now()

    def advance_clock(self, seconds: float) -> float:
        """Move the clock forward; what fell due (expiry, settlement) has happened on return."""
        return timers.advance(self.state, seconds)

    def add_webhook_endpoint(
        self, url: str, secret: str | None = None, enabled_events: list[str] | None = None
    ) -> dict[str, Any]:
        """Register (or re-key) an endpoint, e.g. from ``--webhook``; returns it with ``secret``."""
        return self.state.add_webhook_endpoint(url, secret, enabled_events)

    # --- serving ----------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in background threads; returns the base URL (port 0 picks a free port).

        Raises ``OSError`` when the address cannot be bound.
        """
        server = wsgi.Server(
            (host, port),
            self.app,
            numthreads=SERVER_THREADS,
            server_name="stripe-sandbox",
            timeout=KEEP_ALIVE_SECONDS,
            request_queue_size=256,
        )
        server.max_request_header_size = MAX_HEADER_BYTES
        server.keep_alive_conn_limit = MAX_KEPT_ALIVE
        server.expiration_interval = POLL_SECONDS
        server.prepare()  # binds and listens
        self._server = server
        shown_host = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104
        self.state.base_url = f"http://{shown_host}:{server.bind_addr[1]}"
        self._thread = threading.Thread(target=server.serve, name="stripe-sandbox-http", daemon=True)
        self._thread.start()
        self.timers.start()
        return self.base_url

    def stop(self) -> None:
        self.state.closing = True
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.timers.stop()
        self.state.close()
