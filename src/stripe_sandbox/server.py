"""The sandbox: state, clock, event log, webhook delivery and the HTTP server around them.

>>> sandbox = Sandbox()
>>> base_url = sandbox.start(port=0)   # background threads; port 0 picks a free port
>>> ...                                 # stripe.StripeClient(key, base_addresses={"api": base_url})
>>> sandbox.stop()
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from stripe_sandbox import api, control, objects
from stripe_sandbox.faults import Faults
from stripe_sandbox.headers import RequestHeaders, http_date, read_header_fields
from stripe_sandbox.objects import API_VERSION
from stripe_sandbox.store import Store
from stripe_sandbox.webhooks import (
    DEFAULT_RETRY_SCHEDULE,
    DELIVERY_TIMEOUT_SECONDS,
    WebhookDispatcher,
    event_matches,
    payload_for,
)

DEFAULT_PORT = 12111
SWEEP_INTERVAL_SECONDS = 0.25
IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600
MAX_BODY_BYTES = 1_000_000


@dataclasses.dataclass(frozen=True)
class RequestContext:
    """What an event records in ``request``: the API request that caused it, if any."""

    request_id: str | None = None
    idempotency_key: str | None = None


NO_REQUEST = RequestContext()


class Sandbox:
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
    ) -> None:
        self.lock = threading.RLock()
        self.store = Store(db_path)
        self.faults = faults or Faults()
        self.rng = random.Random(seed)  # noqa: S311 - fault injection, not crypto
        self.api_versions = api_versions
        self.log_requests = log_requests
        self.sweep_interval = sweep_interval
        self.base_url = f"http://127.0.0.1:{DEFAULT_PORT}"
        self.clock_offset = 0.0
        self.dispatcher = WebhookDispatcher(
            faults=self.faults,
            retry_schedule=tuple(webhook_retry_schedule),
            timeout=webhook_timeout,
            on_settled=self._webhook_settled,
            rng=self.rng,
        )
        self.in_flight: set[str] = set()  # idempotency scopes of requests being served
        self._outbox: list[tuple[dict[str, Any], bytes, list[dict[str, Any]]]] = []
        self._depth = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # --- clock ------------------------------------------------------------------------

    def now(self) -> float:
        """The sandbox clock: wall time, plus whatever ``/_sandbox/clock`` advanced it by."""
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> float:
        with self.lock:
            self.clock_offset += seconds
        self.run_due_timers()
        return self.now()

    # --- state ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and a SQLite transaction; webhooks go out only after commit."""
        with self.lock:
            outer = self._depth == 0
            self._depth += 1
            try:
                with self.store.transaction():
                    yield
            except BaseException:
                if outer:
                    self._outbox.clear()
                raise
            finally:
                self._depth -= 1
            if outer:
                pending, self._outbox = self._outbox, []
                for event, payload, endpoints in pending:
                    self.dispatcher.enqueue(event, payload, endpoints)

    def render(self, obj: dict[str, Any], *, copy_nested: bool = False) -> dict[str, Any]:
        """An object as the API shows it: no private keys, the live hosted-page URL.

        A new dict, whose nested values are ``obj``'s own unless ``copy_nested``: private keys
        live at the top level only, and what is rendered is encoded before ``obj`` changes.
        """
        shown: dict[str, Any]
        if copy_nested:
            shown = objects.public(obj)
        else:
            shown = {key: value for key, value in obj.items() if not key.startswith("_")}
        if shown.get("object") == "checkout.session":
            open_ = shown["status"] == "open"
            shown["url"] = f"{self.base_url}/c/pay/{shown['id']}" if open_ else None
        return shown

    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        ctx: RequestContext = NO_REQUEST,
        previous_attributes: dict[str, Any] | None = None,
    ) -> None:
        """Record an event about ``obj`` and queue its webhooks (sent after commit).

        The event is encoded here, for the store and for the webhooks: it shows ``obj`` as it is now.
        """
        event = objects.event(
            created=int(self.now()),
            event_type=event_type,
            snapshot=self.render(obj),
            request_id=ctx.request_id,
            idempotency_key=ctx.idempotency_key,
            previous_attributes=previous_attributes,
        )
        endpoints = [
            endpoint
            for endpoint in self.store.all("webhook_endpoint")
            if endpoint["status"] == "enabled" and event_matches(endpoint["enabled_events"], event_type)
        ]
        endpoints.reverse()  # oldest endpoint first
        event["pending_webhooks"] = len(endpoints)
        self.store.put(event)
        if endpoints:
            self._outbox.append((event, payload_for(event), endpoints))

    def _webhook_settled(self, event_id: str, endpoint_id: str, delivered: bool) -> None:
        # pending_webhooks counts deliveries not yet acknowledged with a 2xx, as Stripe's does.
        if not delivered or self._stopping.is_set():
            return
        with self.transaction():
            event = self.store.get(event_id, "event")
            if event is not None and event["pending_webhooks"] > 0:
                event["pending_webhooks"] -= 1
                self.store.put(event)

    def add_webhook_endpoint(
        self, url: str, secret: str | None = None, enabled_events: list[str] | None = None
    ) -> dict[str, Any]:
        """Register (or re-key) an endpoint, e.g. from ``--webhook``; returns it with ``secret``."""
        with self.transaction():
            for endpoint in self.store.all("webhook_endpoint"):
                if endpoint["url"] == url:
                    if secret:
                        endpoint["_secret"] = secret
                    if enabled_events:
                        endpoint["enabled_events"] = enabled_events
                    endpoint["status"] = "enabled"
                    self.store.put(endpoint)
                    break
            else:
                endpoint = objects.webhook_endpoint(
                    created=int(self.now()),
                    url=url,
                    enabled_events=enabled_events or ["*"],
                    description=None,
                    metadata={},
                    api_version=None,
                    secret=secret or objects.new_webhook_secret(),
                )
                self.store.put(endpoint)
        shown = self.render(endpoint)
        shown["secret"] = endpoint["_secret"]
        return shown

    def run_due_timers(self) -> None:
        """Expire sessions past ``expires_at`` and settle delayed payments that are due."""
        from stripe_sandbox import payments, resources

        with self.transaction():
            for timer_id, action in self.store.due_timers(self.now()):
                if action == "expire":
                    resources.expire_session(self, timer_id, NO_REQUEST, automatic=True)
                elif action.startswith("settle:"):
                    payments.settle(self, timer_id, action.removeprefix("settle:"))
                self.store.clear_timer(timer_id)
            self.store.forget_idempotency_before(self.now() - IDEMPOTENCY_KEY_TTL_SECONDS)

    # --- server -----------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in background threads; returns the base URL (port 0 picks a free port)."""
        httpd = _HTTPServer((host, port), _Handler)
        httpd.sandbox = self
        self._httpd = httpd
        shown_host = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104
        self.base_url = f"http://{shown_host}:{httpd.server_address[1]}"
        self._stopping.clear()
        serve = functools.partial(httpd.serve_forever, poll_interval=0.05)
        for target, name in ((serve, "http"), (self._sweep, "sweeper")):
            thread = threading.Thread(target=target, name=f"stripe-sandbox-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.dispatcher.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        with self.lock:
            self.store.close()

    def _sweep(self) -> None:
        while not self._stopping.wait(self.sweep_interval):
            try:
                self.run_due_timers()
            except Exception:
                import traceback

                traceback.print_exc()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    sandbox: Sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One buffered write per response (flushed by http.server) and no Nagle delay: keep-alive
    # clients would otherwise wait on delayed ACKs between header and body segments.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _HTTPServer
    raw_requestline: bytes
    fields: RequestHeaders
    server_version = "stripe-sandbox"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sandbox.log_requests:
            super().log_message(format, *args)

    def parse_request(self) -> bool:
        """``BaseHTTPRequestHandler.parse_request``, with the headers read by :mod:`stripe_sandbox.headers`.

        A plain ``METHOD /path HTTP/1.x`` line takes the short way; any other goes through
        http.server's own checks and error answers unchanged.
        """
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0") or words[1].startswith("//"):
            if not super().parse_request():
                return False
            self.fields = RequestHeaders(self.headers.items())
            return True
        self.requestline = requestline
        self.command, self.path, self.request_version = words
        self.close_connection = self.request_version == "HTTP/1.0"
        try:
            self.fields = RequestHeaders(read_header_fields(self.rfile))
        except http.client.LineTooLong as error:
            self.send_error(431, "Line too long", str(error))
            return False
        except http.client.HTTPException as error:
            self.send_error(431, "Too many headers", str(error))
            return False
        connection = self.fields.first("connection").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        if self.fields.first("expect").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _serve(self, method: str) -> None:
        sandbox = self.server.sandbox
        length = int(self.fields.first("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(413, [("Content-Type", "text/plain")], b"Request body too large")
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = parts.path
        headers = self.fields.last
        try:
            if path.startswith("/v1/"):
                status, out_headers, out_body = api.handle(sandbox, method, path, parts.query, body, headers)
            elif path.startswith("/_sandbox/"):
                status, out_headers, out_body = control.handle(sandbox, method, path, parts.query, body, headers)
            else:
                from stripe_sandbox import hosted

                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                form: dict[str, str] = {}
                if body and "json" not in headers.get("content-type", ""):
                    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
                status, out_headers, out_body = hosted.handle(
                    sandbox, "GET" if method == "HEAD" else method, path, query, form
                )
        except Exception:
            import traceback

            traceback.print_exc()
            status, out_headers, out_body = api.internal_error()
        sent = b"" if method == "HEAD" else out_body
        self._send(status, out_headers, sent, content_length=len(out_body))

    def _send(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        content_length: int | None = None,
    ) -> None:
        """What send_response, send_header and end_headers write, in one write with the body."""
        self.log_request(status)
        if self.request_version == "HTTP/0.9":
            self.wfile.write(body)
            return
        phrase = self.responses[status][0] if status in self.responses else ""
        lines = [
            f"{self.protocol_version} {status} {phrase}\r\n",
            f"Server: {self.version_string()}\r\nDate: {http_date()}\r\n",
        ]
        for key, value in headers:
            lowered = key.lower()
            if lowered == "content-length":
                continue
            if lowered == "connection" and value.lower() in ("close", "keep-alive"):
                self.close_connection = value.lower() == "close"
            lines.append(f"{key}: {value}\r\n")
        lines.append(f"Content-Length: {len(body) if content_length is None else content_length}\r\n\r\n")
        self.wfile.write("".join(lines).encode("latin-1") + body)
