"""The payment engine: what happens when a customer pays a Checkout Session.

This is the contract the hosted page (:mod:`stripe_sandbox.hosted`) and the test helper
``POST /v1/test_helpers/checkout/sessions/{id}/pay`` share:

- :func:`pay_session` pays an open session with a test payment method and returns a
  :class:`PayResult`. Declines are results, not exceptions: the session stays ``open`` and
  the customer may try again. It raises :class:`PaymentError` (a Stripe error with
  ``status``/``code``/``param``) when the session does not exist, is not open, or the
  payment method / outcome is unknown.
- :func:`card_to_payment_method` maps a test card number to its payment method.
- :func:`session_for_page` and :func:`cancel_session_url` give the page what it renders.

Outcomes, with the events each one records (in this order); :mod:`stripe_sandbox.cards` lists every
test card and payment method (brands, declines with their codes, fraud, a refund that fails later):

=========================================  =========================================
payment method                             result
=========================================  =========================================
``pm_card_visa``,                          succeeded: charge.succeeded,
``pm_card_authenticationRequired_approved``  payment_intent.succeeded,
                                           checkout.session.completed (paid)
``pm_card_chargeDeclined``                 declined ``generic_decline``: charge.failed,
                                           payment_intent.payment_failed; session open
``pm_card_chargeDeclinedInsufficientFunds``  declined ``insufficient_funds`` (as above)
``pm_card_authenticationRequired``         requires_action (3-D Secure challenge):
                                           payment_intent.requires_action
``pm_card_authenticationRequired_failed``  declined ``authentication_required``
``pm_sepa_debit``                          processing: charge.pending,
                                           payment_intent.processing,
                                           checkout.session.completed (unpaid); after
                                           ``delay_seconds`` either charge.succeeded,
                                           payment_intent.succeeded,
                                           checkout.session.async_payment_succeeded or
                                           charge.failed, payment_intent.payment_failed,
                                           checkout.session.async_payment_failed
=========================================  =========================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from stripe_sandbox import cards, charge_objects, objects, shipping
from stripe_sandbox.cards import PAYMENT_METHODS, Method
from stripe_sandbox.errors import StripeError, invalid, resource_missing
from stripe_sandbox.reads import expand
from stripe_sandbox.sessions import expire_session
from stripe_sandbox.state import NO_REQUEST, RequestContext, State

PaymentError = StripeError

DELAYED_OUTCOMES = ("succeeded", "failed")
SEPA_FAILURE = ("insufficient_funds", "The customer's account has insufficient funds.")


@dataclasses.dataclass(frozen=True)
class PayResult:
    ok: bool
    status: str  # "succeeded" | "declined" | "requires_action" | "processing"
    decline_code: str | None
    message: str
    redirect_url: str | None


def card_to_payment_method(number: str) -> str:
    """The test payment method for a test card number (spaces and dashes allowed)."""
    return cards.card_to_payment_method(number)


def session_for_page(state: State, session_id: str) -> dict[str, Any] | None:
    """The session as the API shows it, with ``line_items`` expanded; None if unknown."""
    with state.lock:
        session = state.store.get(session_id, "checkout.session")
        if session is None:
            return None
        shown = expand(state, session, ["line_items"])
        # The page names each shipping option: its rate's display name and delivery estimate.
        options = []
        for option in shown.get("shipping_options") or []:
            rate = state.store.get(option["shipping_rate"], "shipping_rate") or {}
            options.append(
                {
                    **option,
                    "_display_name": rate.get("display_name"),
                    "_delivery_estimate": rate.get("delivery_estimate"),
                }
            )
        shown["shipping_options"] = options
        return shown


def cancel_session_url(state: State, session_id: str) -> str:
    """Where "cancel" leads: the session's ``cancel_url``, else back to its page."""
    with state.lock:
        session = state.store.get(session_id, "checkout.session")
    if session is None:
        raise resource_missing("checkout.session", session_id, "session")
    return str(session.get("cancel_url") or f"{state.base_url}/c/pay/{session_id}")


def success_redirect(session: dict[str, Any]) -> str | None:
    url = session.get("success_url")
    return str(url).replace("{CHECKOUT_SESSION_ID}", session["id"]) if url else None


def pay_session(
    state: State,
    session_id: str,
    payment_method: str,
    *,
    delayed_outcome: str | None = None,
    delay_seconds: float = 0,
    ctx: RequestContext | None = None,
    shipping_details: Mapping[str, str] | None = None,
    billing_details: Mapping[str, str] | None = None,
    shipping_rate: str | None = None,
) -> PayResult:
    """Pay an open Checkout Session with a test payment method (see the module doc).

    A session that collects a shipping address needs `shipping_details` (and takes a `shipping_rate` among its
    options; the first otherwise); one with `billing_address_collection=required` needs `billing_details`.
    """
    ctx = ctx or NO_REQUEST
    method = PAYMENT_METHODS.get(payment_method)
    if method is None:
        raise invalid(
            f"No such PaymentMethod: '{payment_method}'. Use one of: " + ", ".join(PAYMENT_METHODS),
            "payment_method",
            "resource_missing",
        )
    if method.kind == "delayed":
        delayed_outcome = delayed_outcome or "succeeded"
        if delayed_outcome not in DELAYED_OUTCOMES:
            raise invalid("delayed_outcome must be `succeeded` or `failed`.", "delayed_outcome")
        if delay_seconds < 0:
            raise invalid("delay_seconds must be zero or more.", "delay_seconds")
    elif delayed_outcome is not None:
        raise invalid(
            "delayed_outcome applies only to a delayed payment method (pm_sepa_debit).",
            "delayed_outcome",
        )

    with state.transaction():
        session = state.store.get(session_id, "checkout.session")
        if session is None:
            raise resource_missing("checkout.session", session_id, "session")
        if session["status"] == "open" and session["expires_at"] <= state.now():
            expire_session(state, session_id, ctx, automatic=True)
            session = state.store.get(session_id, "checkout.session") or session
        if session["status"] != "open":
            raise StripeError(
                f"This Checkout Session is no longer open (status: {session['status']}).",
                code="checkout_session_not_open",
                param="session",
            )
        allowed = session["payment_method_types"]
        if method.method_type not in allowed:
            raise invalid(
                f"The PaymentMethod provided ({method.method_type}) is not allowed for this Checkout Session. "
                f"Use a PaymentMethod of one of the following types: {', '.join(allowed)}.",
                "payment_method",
                "payment_intent_invalid_parameter",
            )
        shipping.collect(session, shipping=shipping_details, billing=billing_details, rate_id=shipping_rate)
        state.store.put(session)
        intent = _intent_for(state, session)
        if intent["amount"] != session["amount_total"] and intent["status"] == "requires_payment_method":
            intent["amount"] = session["amount_total"]  # another shipping option than at the last attempt
            state.store.put(intent)
        pm_id = objects.new_id("pm_")
        if method.kind == "challenge":
            return _require_action(state, session, intent, pm_id, ctx)
        if method.kind == "decline":
            return _decline(state, session, intent, pm_id, method, ctx)
        charge = _new_charge(state, session, intent, pm_id, method)
        if method.kind == "succeed":
            _succeed(state, intent, charge, ctx, risk_level=method.risk_level)
            _complete(state, session, intent, ctx, paid=True)
            return PayResult(True, "succeeded", None, "Payment succeeded.", success_redirect(session))
        # Delayed: completed now, settled when its timer falls due on the sandbox clock.
        charge["status"] = "pending"
        state.store.put(charge)
        state.emit("charge.pending", charge, ctx)
        intent.update(
            status="processing",
            payment_method=pm_id,
            latest_charge=charge["id"],
            last_payment_error=None,
            next_action=None,
            processing=None,
        )
        state.store.put(intent)
        state.emit("payment_intent.processing", intent, ctx)
        _complete(state, session, intent, ctx, paid=False)
        state.store.set_timer(intent["id"], f"settle:{delayed_outcome}", state.now() + delay_seconds)
    state.timer_set()
    return PayResult(
        True,
        "processing",
        None,
        "The bank debit is processing; it settles later.",
        success_redirect(session),
    )


def settle(state: State, intent_id: str, outcome: str) -> None:
    """Settle a delayed payment (called by the sandbox's timers, inside a transaction)."""
    intent = state.store.get(intent_id, "payment_intent")
    if intent is None or intent["status"] != "processing":
        return
    charge = state.store.get(intent["latest_charge"], "charge")
    session = state.store.get(intent.get("_session") or "", "checkout.session")
    if charge is None or session is None:
        return
    if outcome == "succeeded":
        _succeed(state, intent, charge, NO_REQUEST)
        previous = {"payment_status": session["payment_status"]}
        session["payment_status"] = "paid"
        state.store.put(session)
        state.emit(
            "checkout.session.async_payment_succeeded",
            session,
            NO_REQUEST,
            previous_attributes=previous,
        )
        return
    failure_code, message = SEPA_FAILURE
    charge.update(
        status="failed",
        failure_code=failure_code,
        failure_message=message,
        outcome=charge_objects.charge_outcome(approved=False, reason=failure_code, message=message),
    )
    state.store.put(charge)
    state.emit("charge.failed", charge, NO_REQUEST)
    intent.update(
        status="requires_payment_method",
        last_payment_error=_payment_error(intent, charge, failure_code, failure_code, message),
    )
    state.store.put(intent)
    state.emit("payment_intent.payment_failed", intent, NO_REQUEST)
    state.emit("checkout.session.async_payment_failed", session, NO_REQUEST)


def _intent_for(state: State, session: dict[str, Any]) -> dict[str, Any]:
    """The session's PaymentIntent, created on the first attempt as Stripe does."""
    if session["payment_intent"]:
        intent = state.store.get(session["payment_intent"], "payment_intent")
        if intent is not None:
            return intent
    settings = session.get("_payment_intent_data") or {}
    intent = objects.payment_intent(
        created=int(state.now()),
        amount=session["amount_total"],
        currency=session["currency"],
        metadata=dict(settings.get("metadata") or {}),
        description=settings.get("description"),
        receipt_email=settings.get("receipt_email"),
        payment_method_types=list(session["payment_method_types"]),
    )
    intent["_session"] = session["id"]
    state.store.put(intent)
    session["payment_intent"] = intent["id"]
    state.store.put(session)
    return intent


def _new_charge(
    state: State,
    session: dict[str, Any],
    intent: dict[str, Any],
    pm_id: str,
    method: Method,
) -> dict[str, Any]:
    details = (
        charge_objects.card_details(method.last4, method.brand, method.funding, method.country)
        if method.method_type == "card"
        else charge_objects.sepa_details()
    )
    charge = charge_objects.charge(
        created=int(state.now()),
        intent=intent,
        payment_method=pm_id,
        method_type=method.method_type,
        method_details=details,
        email=_customer_email(session),
    )
    if method.refund_fails:
        charge["_refund_fails"] = True  # its refunds succeed, then fail (see refunds.fail_later)
    state.store.put(charge)
    return charge


def _customer_email(session: dict[str, Any]) -> str:
    return str(session.get("customer_email") or "customer@example.com")


def _succeed(
    state: State, intent: dict[str, Any], charge: dict[str, Any], ctx: RequestContext, *, risk_level: str = "normal"
) -> None:
    charge.update(
        status="succeeded",
        paid=True,
        captured=True,
        amount_captured=charge["amount"],
        balance_transaction=objects.new_id("txn_"),
        outcome=charge_objects.charge_outcome(approved=True, risk_level=risk_level),
    )
    state.store.put(charge)
    state.emit("charge.succeeded", charge, ctx)
    intent.update(
        status="succeeded",
        amount_received=intent["amount"],
        payment_method=charge["payment_method"],
        latest_charge=charge["id"],
        last_payment_error=None,
        next_action=None,
    )
    state.store.put(intent)
    state.emit("payment_intent.succeeded", intent, ctx)


def _complete(
    state: State,
    session: dict[str, Any],
    intent: dict[str, Any],
    ctx: RequestContext,
    *,
    paid: bool,
) -> None:
    customer = objects.customer_details(_customer_email(session))
    shipping.complete(session, customer)
    session.update(
        status="complete",
        payment_status="paid" if paid else "unpaid",
        payment_intent=intent["id"],
        customer_details=customer,
    )
    collected = (session.get("collected_information") or {}).get("shipping_details")
    if collected is not None:
        intent["shipping"] = {**collected, "carrier": None, "phone": None, "tracking_number": None}
        state.store.put(intent)
    state.store.put(session)
    state.store.clear_timer(session["id"])
    state.emit("checkout.session.completed", session, ctx)


def _payment_error(
    intent: dict[str, Any],
    charge: dict[str, Any] | None,
    code: str | None,
    decline_code: str | None,
    message: str,
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "type": "card_error",
        "code": code,
        "decline_code": decline_code,
        "message": message,
        "doc_url": f"https://stripe.com/docs/error-codes/{code}" if code else None,
        "param": None,
        "charge": charge["id"] if charge else None,
        "payment_method": {"id": intent["payment_method"], "object": "payment_method"},
    }
    return error


def _decline(
    state: State,
    session: dict[str, Any],
    intent: dict[str, Any],
    pm_id: str,
    method: Method,
    ctx: RequestContext,
) -> PayResult:
    charge = _new_charge(state, session, intent, pm_id, method)
    charge.update(
        status="failed",
        failure_code=method.failure_code,
        failure_message=method.message,
        outcome=charge_objects.charge_outcome(
            approved=False,
            reason=method.decline_code,
            message=method.message,
            risk_level=method.risk_level,
            blocked=method.blocked,
        ),
    )
    state.store.put(charge)
    state.emit("charge.failed", charge, ctx)
    intent.update(
        status="requires_payment_method",
        payment_method=None,
        latest_charge=charge["id"],
        next_action=None,
    )
    intent["last_payment_error"] = _payment_error(
        {**intent, "payment_method": pm_id},
        charge,
        method.failure_code,
        method.decline_code,
        method.message,
    )
    intent["last_payment_error"]["param"] = method.error_param
    state.store.put(intent)
    state.emit("payment_intent.payment_failed", intent, ctx)
    return PayResult(False, "declined", method.decline_code, method.message, None)


def _require_action(
    state: State,
    session: dict[str, Any],
    intent: dict[str, Any],
    pm_id: str,
    ctx: RequestContext,
) -> PayResult:
    intent.update(
        status="requires_action",
        payment_method=pm_id,
        last_payment_error=None,
        next_action={
            "type": "redirect_to_url",
            "redirect_to_url": {
                "return_url": success_redirect(session),
                "url": f"{state.base_url}/c/pay/{session['id']}/3ds",
            },
        },
    )
    state.store.put(intent)
    state.emit("payment_intent.requires_action", intent, ctx)
    return PayResult(
        False,
        "requires_action",
        None,
        "Your bank asks you to authenticate this payment (3-D Secure).",
        None,
    )
