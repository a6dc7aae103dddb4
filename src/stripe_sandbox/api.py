"""The ``/v1/`` HTTP API: authentication, versions, idempotency, faults and routing."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

from stripe_sandbox import endpoints, objects, payments, reads, refunds, sessions, shipping
from stripe_sandbox.errors import StripeError, invalid, unrecognized_url
from stripe_sandbox.param_tables import SPECS, Spec
from stripe_sandbox.params import Params
from stripe_sandbox.replies import Reply, json_reply
from stripe_sandbox.state import RequestContext, State
from stripe_sandbox.wire import flat_pairs, parse_form, parse_pairs

Handler = Callable[[State, Params, RequestContext, dict[str, str]], tuple[int, Any]]

ROUTES: list[tuple[str, re.Pattern[str], Handler, Spec]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register a handler; the parameters it accepts are its entry in :data:`param_tables.TABLES`."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
    spec = SPECS[(method, pattern)]

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, regex, handler, spec))
        return handler

    return register


def handle(
    state: State,
    method: str,
    path: str,
    query: str,
    body: bytes,
    headers: dict[str, str],
) -> Reply:
    """Answer one ``/v1/`` request (``headers`` keys in lower case)."""
    request_id = objects.new_id("req_", 14)
    version = headers.get("stripe-version") or state.api_versions[0]
    base_headers = [("Request-Id", request_id), ("Stripe-Version", version)]
    idempotency_key = headers.get("idempotency-key") or None
    if idempotency_key:
        base_headers.append(("Idempotency-Key", idempotency_key))
    scope, fingerprint = None, ""
    try:
        api_key = _authenticate(headers)
        if version not in state.api_versions:
            raise invalid(f"Invalid Stripe API version: {version}", code="api_version_invalid")
        pairs = parse_form(query)
        if body:
            pairs += parse_form(body.decode("utf-8", "replace"))
        params = parse_pairs(pairs)
        handler, spec, path_args = _match(method, path)
        spec.check(params)
        ctx = RequestContext(request_id, idempotency_key)
        if method == "POST" and idempotency_key:
            if len(idempotency_key) > 255:
                raise invalid("Idempotency keys can be at most 255 characters.", "Idempotency-Key")
            fingerprint = _fingerprint(method, path, params)
            key_scope = f"{api_key}:{idempotency_key}"
            replay = _claim(state, key_scope, fingerprint, idempotency_key)
            if replay is not None:
                return replay
            scope = key_scope  # claimed: this request now releases or stores it (a refused one holds nothing)
        _inject_faults(state)
        status, payload = handler(state, Params(params), ctx, path_args)
        response = json_reply(status, payload, base_headers)
    except StripeError as error:
        response = json_reply(error.status, error.to_dict(), base_headers + error.headers)
        if scope is not None and not _keeps_result(error):
            _release(state, scope)
            scope = None
    except Exception:
        if scope is not None:
            _release(state, scope)
        raise
    if scope is not None:
        _store(state, scope, fingerprint, response)
    return response


def internal_error() -> Reply:
    error = StripeError("An unknown error occurred in the sandbox.", status=500, type="api_error")
    return json_reply(500, error.to_dict(), [("Request-Id", objects.new_id("req_", 14))])


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


def _match(method: str, path: str) -> tuple[Handler, Spec, dict[str, str]]:
    for route_method, regex, handler, spec in ROUTES:
        match = regex.match(path)
        if match and route_method == method:
            return handler, spec, match.groupdict()
    raise unrecognized_url(method, path)


# --- idempotency -------------------------------------------------------------------------


def _fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    canonical = json.dumps([method, path, flat_pairs(params)])
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(state: State, scope: str, fingerprint: str, key: str) -> Reply | None:
    """Replay a stored response, refuse a mismatch or a concurrent use, or claim the key."""
    with state.lock:
        if scope in state.in_flight:
            raise StripeError(
                "There is currently another in-progress request using this Stripe "
                "Idempotency Key (that probably means you submitted twice, and the other "
                "request is still going through): " + key + ". Please try again later.",
                status=409,
                type="idempotency_error",
                code="idempotency_key_in_use",
                headers=[("Stripe-Should-Retry", "true")],
            )
        stored = state.store.idempotent_response(scope)
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
        state.in_flight.add(scope)
    return None


def _keeps_result(error: StripeError) -> bool:
    # Stripe saves the result once the endpoint ran: successes and card declines. Failed
    # validation and injected faults are not saved, so a retry with the same key runs again.
    return error.type == "card_error"


def _release(state: State, scope: str) -> None:
    with state.lock:
        state.in_flight.discard(scope)


def _store(state: State, scope: str, fingerprint: str, response: Reply) -> None:
    status, headers, body = response
    with state.lock:
        state.in_flight.discard(scope)
        with state.store.transaction():
            state.store.save_idempotent_response(scope, fingerprint, status, headers, body, state.now())


# --- faults ------------------------------------------------------------------------------


def _inject_faults(state: State) -> None:
    faults = state.faults
    step = faults.next_step()
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if step is not None and step.startswith("slow:"):
        time.sleep(int(step[5:]) / 1000)
    if step == "error" or (faults.error_rate and state.rng.random() < faults.error_rate):
        raise StripeError(
            "An unexpected error occurred (injected by the sandbox's error_rate fault).",
            status=500,
            type="api_error",
        )
    if step == "rate_limit" or (faults.rate_limit_rate and state.rng.random() < faults.rate_limit_rate):
        raise StripeError(
            "Request rate limit exceeded (injected by the sandbox's rate_limit_rate "
            "fault). Learn more about rate limits here https://stripe.com/docs/rate-limits.",
            status=429,
            code="rate_limit",
        )


# --- routes ------------------------------------------------------------------------------


@route("POST", "/v1/checkout/sessions")
def _create_session(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, sessions.create_session(state, p, ctx)


@route("GET", "/v1/checkout/sessions")
def _list_sessions(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, sessions.list_sessions(state, p)


@route("GET", "/v1/checkout/sessions/{id}")
def _get_session(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, reads.retrieve(state, "checkout.session", a["id"], p)


@route("POST", "/v1/checkout/sessions/{id}/expire")
def _expire_session(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    session = sessions.expire_session(state, a["id"], ctx)
    with state.lock:
        return 200, reads.expand(state, session, p.strings("expand"))


@route("GET", "/v1/checkout/sessions/{id}/line_items")
def _session_line_items(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, sessions.session_line_items(state, a["id"], p)


@route("GET", "/v1/payment_intents")
def _list_intents(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, reads.list_objects(state, "payment_intent", "/v1/payment_intents", p)


@route("GET", "/v1/payment_intents/{id}")
def _get_intent(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, reads.retrieve(state, "payment_intent", a["id"], p)


@route("GET", "/v1/charges")
def _list_charges(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    filters = {"payment_intent": p.text("payment_intent")}
    return 200, reads.list_objects(state, "charge", "/v1/charges", p, filters)


@route("GET", "/v1/charges/{id}")
def _get_charge(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, reads.retrieve(state, "charge", a["id"], p)


@route("POST", "/v1/refunds")
def _create_refund(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, refunds.create_refund(state, p, ctx)


@route("GET", "/v1/refunds")
def _list_refunds(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    filters = {"charge": p.text("charge"), "payment_intent": p.text("payment_intent")}
    return 200, reads.list_objects(state, "refund", "/v1/refunds", p, filters)


@route("GET", "/v1/refunds/{id}")
def _get_refund(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, reads.retrieve(state, "refund", a["id"], p)


@route("GET", "/v1/disputes")
def _list_disputes(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    filters = {"charge": p.text("charge"), "payment_intent": p.text("payment_intent")}
    return 200, reads.list_objects(state, "dispute", "/v1/disputes", p, filters)


@route("GET", "/v1/disputes/{id}")
def _get_dispute(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, reads.retrieve(state, "dispute", a["id"], p)


@route("GET", "/v1/events")
def _list_events(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, endpoints.list_events(state, p)


@route("GET", "/v1/events/{id}")
def _get_event(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, reads.retrieve(state, "event", a["id"], p)


@route("POST", "/v1/webhook_endpoints")
def _create_endpoint(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, endpoints.create_webhook_endpoint(state, p)


@route("GET", "/v1/webhook_endpoints")
def _list_endpoints(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, reads.list_objects(state, "webhook_endpoint", "/v1/webhook_endpoints", p)


@route("GET", "/v1/webhook_endpoints/{id}")
def _get_endpoint(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, reads.retrieve(state, "webhook_endpoint", a["id"], p)


@route("POST", "/v1/webhook_endpoints/{id}")
def _update_endpoint(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, endpoints.update_webhook_endpoint(state, a["id"], p)


@route("DELETE", "/v1/webhook_endpoints/{id}")
def _delete_endpoint(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, endpoints.delete_webhook_endpoint(state, a["id"])


@route("POST", "/v1/test_helpers/checkout/sessions/{id}/pay")
def _pay_session(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    payment_method = p.text("payment_method", required=True) or ""
    delay = p.number("delay_seconds") or 0.0
    result = payments.pay_session(
        state,
        a["id"],
        payment_method,
        delayed_outcome=p.text("delayed_outcome"),
        delay_seconds=delay,
        ctx=ctx,
        shipping_details=shipping.helper_details(p, "shipping_details"),
        billing_details=shipping.helper_details(p, "billing_details"),
        shipping_rate=p.text("shipping_rate"),
    )
    with state.lock:
        session = reads.load(state, "checkout.session", a["id"], "session")
        if result.status == "declined":
            intent = state.store.get(session["payment_intent"] or "", "payment_intent")
            error = (intent or {}).get("last_payment_error") or {}
            raise StripeError(
                result.message,
                status=402,
                type="card_error",
                code=error.get("code") or "card_declined",
                param=error.get("param"),
                extra={
                    "decline_code": result.decline_code,
                    "charge": error.get("charge"),
                    "payment_intent": state.render(intent) if intent else None,
                },
            )
        return 200, reads.expand(state, session, p.strings("expand"))


@route("GET", "/v1/shipping_rates/{id}")
def _get_shipping_rate(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    with state.lock:
        return 200, state.render(reads.load(state, "shipping_rate", a["id"], "id"))


@route("POST", "/v1/test_helpers/charges/{id}/dispute")
def _dispute_charge(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    return 200, refunds.create_dispute(state, a["id"], p, ctx)


@route("POST", "/v1/test_helpers/disputes")
def _create_dispute(state: State, p: Params, ctx: RequestContext, a: dict[str, str]) -> tuple[int, Any]:
    charge_id = p.text("charge", required=True) or ""
    return 200, refunds.create_dispute(state, charge_id, p, ctx)
