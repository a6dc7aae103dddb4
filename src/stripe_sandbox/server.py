"""The sandbox served over HTTP: its state, the handlers, a server and the timer loop.

>>> sandbox = Sandbox()
>>> base_url = sandbox.start(port=0)   # background threads; port 0 picks a free port
>>> ...                                 # stripe.StripeClient(key, base_addresses={"api": base_url})
>>> sandbox.stop()
"""

from __future__ import annotations

import functools
import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from stripe_sandbox import api, control, hosted, timers
from stripe_sandbox.clock import Clock
from stripe_sandbox.faults import Faults
from stripe_sandbox.headers import RequestHeaders, http_date, read_header_fields
from stripe_sandbox.objects import API_VERSION
from stripe_sandbox.state import DEFAULT_PORT, State
from stripe_sandbox.store import Store
from stripe_sandbox.timers import SWEEP_INTERVAL_SECONDS, TimerLoop
from stripe_sandbox.webhooks import DEFAULT_RETRY_SCHEDULE, DELIVERY_TIMEOUT_SECONDS, WebhookDispatcher

__all__ = ["DEFAULT_PORT", "MAX_BODY_BYTES", "Sandbox"]

MAX_BODY_BYTES = 1_000_000


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
        self.log_requests = log_requests
        self.timers = TimerLoop(self.state, sweep_interval)
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

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
        """Serve in background threads; returns the base URL (port 0 picks a free port)."""
        httpd = _HTTPServer((host, port), _Handler)
        httpd.sandbox = self
        self._httpd = httpd
        shown_host = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104
        self.state.base_url = f"http://{shown_host}:{httpd.server_address[1]}"
        serve = functools.partial(httpd.serve_forever, poll_interval=0.05)
        thread = threading.Thread(target=serve, name="stripe-sandbox-http", daemon=True)
        thread.start()
        self._threads.append(thread)
        self.timers.start()
        return self.base_url

    def stop(self) -> None:
        self.state.closing = True
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self.timers.stop()
        self.state.close()


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
        state = sandbox.state
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
                status, out_headers, out_body = api.handle(state, method, path, parts.query, body, headers)
            elif path.startswith("/_sandbox/"):
                status, out_headers, out_body = control.handle(state, method, path, parts.query, body, headers)
            else:
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                form: dict[str, str] = {}
                if body and "json" not in headers.get("content-type", ""):
                    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
                status, out_headers, out_body = hosted.handle(
                    state, "GET" if method == "HEAD" else method, path, query, form
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
