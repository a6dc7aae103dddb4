"""The sandbox as a WSGI application: werkzeug reads each request, the handlers answer it.

``/v1/`` goes to the API (:mod:`stripe_sandbox.api`), ``/_sandbox/`` to the control API
(:mod:`stripe_sandbox.control`), anything else to the hosted checkout page
(:mod:`stripe_sandbox.hosted`). Any WSGI server can serve it; :mod:`stripe_sandbox.server` does.
"""

from __future__ import annotations

import functools
import sys
import time
import traceback
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from stripe_sandbox import api, control, hosted
from stripe_sandbox.replies import Reply
from stripe_sandbox.state import State

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MAX_BODY_BYTES = 1_000_000


class _Request(Request):
    max_content_length = MAX_BODY_BYTES


class SandboxApp:
    """The WSGI application over a :class:`~stripe_sandbox.state.State`."""

    def __init__(self, state: State, *, log_requests: bool = False) -> None:
        self.state = state
        self.log_requests = log_requests

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = _Request(environ)
        response = self.respond(request)
        if self.log_requests:
            _log(request, response.status_code)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        length = request.headers.get("Content-Length")
        # e.g. -1, which a server may pass on as it came, or "²", a digit to isdigit but no number
        if length is not None and not (length.isascii() and length.isdigit()):
            return Response(b"Malformed Content-Length", _status_line(400), [("Content-Type", "text/plain")])
        try:
            body = request.get_data(cache=False)
            if request.content_length is None and len(body) >= MAX_BODY_BYTES:
                request.stream.read(1)  # a chunked body cut at the limit: refused (RequestEntityTooLarge)
        except HTTPException as error:  # too large, or shorter than it said it was
            text = b"Request body too large" if isinstance(error, RequestEntityTooLarge) else b"Malformed request body"
            return Response(text, _status_line(error.code or 400), [("Content-Type", "text/plain")])
        try:
            status, headers, content = self._dispatch(request, body)
        except Exception:
            traceback.print_exc()
            status, headers, content = api.internal_error()
        # werkzeug answers a HEAD request with the headers (and length) of this body, and no body.
        return Response(content, _status_line(status), headers)

    def _dispatch(self, request: Request, body: bytes) -> Reply:
        method, path = request.method, request.path
        headers = {name.lower(): value for name, value in request.headers.items()}
        query = request.query_string.decode("latin-1")
        if path.startswith("/v1/"):
            return api.handle(self.state, method, path, query, body, headers)
        if path.startswith("/_sandbox/"):
            return control.handle(self.state, method, path, query, body, headers)
        form: dict[str, str] = {}
        if body and "json" not in headers.get("content-type", ""):
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        page_query = dict(parse_qsl(query, keep_blank_values=True))
        return hosted.handle(self.state, "GET" if method == "HEAD" else method, path, page_query, form)


@functools.cache
def _status_line(status: int) -> str:
    """``200 OK``, ``404 Not Found``: the reason phrase as the RFC writes it (werkzeug's are in capitals)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _log(request: Request, status: int) -> None:
    """One line a request on stderr, in the common log format."""
    when = time.strftime("%d/%b/%Y %H:%M:%S")
    target = request.full_path if request.query_string else request.path
    protocol = request.environ.get("SERVER_PROTOCOL", "HTTP/1.1")
    sys.stderr.write(f'{request.remote_addr} - - [{when}] "{request.method} {target} {protocol}" {status} -\n')
