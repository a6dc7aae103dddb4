"""The ``/v1/`` HTTP API: authentication, versions, idempotency, faults and routing."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stripe_sandbox import objects, payments, resources
from stripe_sandbox.errors import StripeError, invalid, unrecognized_url
from stripe_sandbox.jsontext import pretty
from stripe_sandbox.params import Params
from stripe_sandbox.wire import flat_pairs, parse_form, parse_pairs

if TYPE_CHECKING:
    from stripe_sandbox.server import RequestContext, Sandbox

Response = tuple[int, list[tuple[str, str]], bytes]
Handler = Callable[["Sandbox", Params, "RequestContext", dict[str, str]], tuple[int, Any]]

ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, regex, handler))
        return handler

    return register


def handle(
    sandbox: Sandbox,
    method: str,
    path: str,
    query: str,
    body: bytes,
    headers: dict[str, str],
) -> Response:
    """Answer one ``/v1/`` request (``headers`` keys in lower case)."""
    from stripe_sandbox.server import RequestContext

    request_id = objects.new_id("req_", 14)
    version = headers.get("stripe-version") or sandbox.api_versions[0]
    base_headers = [("Request-Id", request_id), ("Stripe-Version", version)]
    idempotency_key = headers.get("idempotency-key") or None
    if idempotency_key:
        base_headers.append(("Idempotency-Key", idempotency_key))
    scope, fingerprint = None, ""
    try:
        api_key = _authenticate(headers)
        if version not in sandbox.api_versions:
            raise invalid(f"Invalid Stripe API version: {version}", code="api_version_invalid")
        pairs = parse_form(query)
        if body:
            pairs += parse_form(body.decode("utf-8", "replace"))
        params = parse_pairs(pairs)
        handler, path_args = _match(method, path)
        ctx = RequestContext(request_id, idempotency_key)
        if method == "POST" and idempotency_key:
            if len(idempotency_key) > 255:
                raise invalid("Idempotency keys can be at most 255 characters.", "Idempotency-Key")
            fingerprint = _fingerprint(method, path, params)
            scope = f"{api_key}:{idempotency_key}"
            replay = _claim(sandbox, scope, fingerprint, idempotency_key)
            if replay is not None:
                scope = None
                return replay
        _inject_faults(sandbox)
        status, payload = handler(sandbox, Params(params), ctx, path_args)
        response = _json(status, payload, base_headers)
    except StripeError as error:
        response = _json(error.status, error.to_dict(), base_headers + error.headers)
        if scope is not None and not _keeps_result(error):
            _release(sandbox, scope)
            scope = None
    except Exception:
        if scope is not None:
            _release(sandbox, scope)
        raise
    if scope is not None:
        _store(sandbox, scope, fingerprint, response)
    return response


def internal_error() -> Response:
    error = StripeError("An unknown error occurred in the sandbox.", status=500, type="api_error")
    return _json(500, error.to_dict(), [("Request-Id", objects.new_id("req_", 14))])


def _json(status: int, payload: Any, headers: list[tuple[str, str]]) -> Response:
    return status, [("Content-Type", "application/json"), *headers], pretty(payload)


def _authenticate(headers: dict[str, str]) -> str:
    authorization = headers.get("authorization", "")
    key = ""
    if authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    elif authorization.lower().startswith("basic "):
        import base64
        import binascii

        try:
            key = base64.b64decode(authorization[6:]).decode().split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise StripeError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
            status=401,
        )
    if key.startswith(("sk_live_", "rk_live_")):
        raise StripeError(
            "The Stripe sandbox accepts test mode keys only (sk_test_…); never use a live key here.",
            status=401,
        )
    if not key.startswith(("sk_test_", "rk_test_")) or len(key) < 10:
        shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key
        raise StripeError(f"Invalid API Key provided: {shown}", status=401)
    return key


def _match(method: str, path: str) -> tuple[Handler, dict[str, str]]:
    for route_method, regex, handler in ROUTES:
        match = regex.match(path)
        if match and route_method == method:
            return handler, match.groupdict()
    raise unrecognized_url(method, path)


# --- idempotency -------------------------------------------------------------------------


def _fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    canonical = json.dumps([method, path, flat_pairs(params)])
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(sandbox: Sandbox, scope: str, fingerprint: str, key: str) -> Response | None:
    """Replay a stored response, refuse a mismatch or a concurrent use, or claim the key."""
    with sandbox.lock:
        if scope in sandbox.in_flight:
            raise StripeError(
                "There is currently another in-progress request using this Stripe "
                "Idempotency Key (that probably means you submitted twice, and the other "
                "request is still going through): " + key + ". Please try again later.",
                status=409,
                type="idempotency_error",
                code="idempotency_key_in_use",
                headers=[("Stripe-Should-Retry", "true")],
            )
        stored = sandbox.store.idempotent_response(scope)
        if stored is not None:
            stored_fingerprint, status, headers, body = stored
            if stored_fingerprint != fingerprint:
                raise StripeError(
                    "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with. Try using a key other than '"
                    + key
                    + "' if you meant to execute a different request.",
                    type="idempotency_error",
                )
            return status, [*headers, ("Idempotent-Replayed", "true")], body
        sandbox.in_flight.add(scope)
    return None


def _keeps_result(error: StripeError) -> bool:
    # Stripe saves the result once the endpoint ran: successes and card declines. Failed
    # validation and injected faults are not saved, so a retry with the same key runs again.
    return error.type == "card_error"


def _release(sandbox: Sandbox, scope: str) -> None:
    with sandbox.lock:
        sandbox.in_flight.discard(scope)


def _store(sandbox: Sandbox, scope: str, fingerprint: str, response: Response) -> None:
    status, headers, body = response
    with sandbox.lock:
        sandbox.in_flight.discard(scope)
        with sandbox.store.transaction():
            sandbox.store.save_idempotent_response(scope, fingerprint, status, headers, body, sandbox.now())


# --- faults ------------------------------------------------------------------------------


def _inject_faults(sandbox: Sandbox) -> None:
    faults = sandbox.faults
    step = faults.next_step()
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if step is not None and step.startswith("slow:"):
        time.sleep(int(step[5:]) / 1000)
    if step == "error" or (faults.error_rate and sandbox.rng.random() < faults.error_rate):
        raise StripeError(
            "An unexpected error occurred (injected by the sandbox's error_rate fault).",
            status=500,
            type="api_error",
        )
    if step == "rate_limit" or (faults.rate_limit_rate and sandbox.rng.random() < faults.rate_limit_rate):
        raise StripeError(
            "Request rate limit exceeded (injected by the sandbox's rate_limit_rate "
            "fault). Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            status=429,
            code="rate_limit",
        )


# --- routes ------------------------------------------------------------------------------


@route("POST", "/v1/checkout/sessions")
def _create_session(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.create_session(sb, p, ctx)


@route("GET", "/v1/checkout/sessions")
def _list_sessions(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.list_sessions(sb, p)


@route("GET", "/v1/checkout/sessions/{id}")
def _get_session(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.retrieve(sb, "checkout.session", a["id"], p)


@route("POST", "/v1/checkout/sessions/{id}/expire")
def _expire_session(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    p.reject_unknown({"expand"})
    session = resources.expire_session(sb, a["id"], ctx)
    with sb.lock:
        return 200, resources.expand(sb, session, p.strings("expand"))


@route("GET", "/v1/checkout/sessions/{id}/line_items")
def _session_line_items(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.session_line_items(sb, a["id"], p)


@route("GET", "/v1/payment_intents")
def _list_intents(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.list_objects(sb, "payment_intent", "/v1/payment_intents", p)


@route("GET", "/v1/payment_intents/{id}")
def _get_intent(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.retrieve(sb, "payment_intent", a["id"], p)


@route("GET", "/v1/charges")
def _list_charges(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    filters = {"payment_intent": p.text("payment_intent")}
    return 200, resources.list_objects(sb, "charge", "/v1/charges", p, filters)


@route("GET", "/v1/charges/{id}")
def _get_charge(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.retrieve(sb, "charge", a["id"], p)


@route("POST", "/v1/refunds")
def _create_refund(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.create_refund(sb, p, ctx)


@route("GET", "/v1/refunds")
def _list_refunds(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    filters = {"charge": p.text("charge"), "payment_intent": p.text("payment_intent")}
    return 200, resources.list_objects(sb, "refund", "/v1/refunds", p, filters)


@route("GET", "/v1/refunds/{id}")
def _get_refund(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.retrieve(sb, "refund", a["id"], p)


@route("GET", "/v1/disputes")
def _list_disputes(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    filters = {"charge": p.text("charge"), "payment_intent": p.text("payment_intent")}
    return 200, resources.list_objects(sb, "dispute", "/v1/disputes", p, filters)


@route("GET", "/v1/disputes/{id}")
def _get_dispute(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.retrieve(sb, "dispute", a["id"], p)


@route("GET", "/v1/events")
def _list_events(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.list_events(sb, p)


@route("GET", "/v1/events/{id}")
def _get_event(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.retrieve(sb, "event", a["id"], p)


@route("POST", "/v1/webhook_endpoints")
def _create_endpoint(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.create_webhook_endpoint(sb, p)


@route("GET", "/v1/webhook_endpoints")
def _list_endpoints(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.list_objects(sb, "webhook_endpoint", "/v1/webhook_endpoints", p)


@route("GET", "/v1/webhook_endpoints/{id}")
def _get_endpoint(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.retrieve(sb, "webhook_endpoint", a["id"], p)


@route("POST", "/v1/webhook_endpoints/{id}")
def _update_endpoint(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.update_webhook_endpoint(sb, a["id"], p)


@route("DELETE", "/v1/webhook_endpoints/{id}")
def _delete_endpoint(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, resources.delete_webhook_endpoint(sb, a["id"])


@route("POST", "/v1/test_helpers/checkout/sessions/{id}/pay")
def _pay_session(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    p.reject_unknown({"payment_method", "delayed_outcome", "delay_seconds", "expand"})
    payment_method = p.text("payment_method", required=True) or ""
    delay = p.number("delay_seconds") or 0.0
    result = payments.pay_session(
        sb,
        a["id"],
        payment_method,
        delayed_outcome=p.text("delayed_outcome"),
        delay_seconds=delay,
        ctx=ctx,
    )
    with sb.lock:
        session = resources.load(sb, "checkout.session", a["id"], "session")
        if result.status == "declined":
            intent = sb.store.get(session["payment_intent"] or "", "payment_intent")
            error = (intent or {}).get("last_payment_error") or {}
            raise StripeError(
                result.message,
                status=402,
                type="card_error",
                code=error.get("code") or "card_declined",
                extra={
                    "decline_code": result.decline_code,
                    "charge": error.get("charge"),
                    "payment_intent": sb.render(intent) if intent else None,
                },
            )
        return 200, resources.expand(sb, session, p.strings("expand"))


@route("POST", "/v1/test_helpers/charges/{id}/dispute")
def _dispute_charge(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    p.reject_unknown({"reason", "amount", "expand"})
    return 200, resources.create_dispute(sb, a["id"], p, ctx)


@route("POST", "/v1/test_helpers/disputes")
def _create_dispute(sb: Sandbox, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    p.reject_unknown({"charge", "reason", "amount", "expand"})
    charge_id = p.text("charge", required=True) or ""
    return 200, resources.create_dispute(sb, charge_id, p, ctx)
