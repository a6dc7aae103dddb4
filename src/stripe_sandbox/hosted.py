"""The sandbox's hosted checkout page, served at a checkout session's ``url``.

A person pays here with a test card, walks through a 3-D Secure challenge, picks a delayed
bank debit, or cancels back to the shop. This module reads what they send and has the payment
engine (:mod:`stripe_sandbox.payments`) act on it; :mod:`stripe_sandbox.pages` writes the HTML.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from stripe_sandbox import payments, shipping
from stripe_sandbox.pages import (
    DEFAULT_SEPA_DELAY_SECONDS,
    challenge_page,
    checkout_page,
    closed_page,
    html,
    layout,
    not_found,
    notice,
    redirect,
)
from stripe_sandbox.replies import Reply
from stripe_sandbox.state import State

PAGE_PATH = re.compile(r"^/c/pay/(?P<session_id>[A-Za-z0-9_]+)(?P<action>/3ds|/cancel)?/?$")

AUTHENTICATION_FAILED = (
    "We were unable to authenticate your payment method. Please choose a different payment method and try again."
)
DECLINE_MESSAGES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "generic_decline": "Your card was declined.",
    "card_declined": "Your card was declined.",
    "authentication_required": AUTHENTICATION_FAILED,
}
# Errors a redirect may carry to the form, by code: the query never carries free text.
REDIRECT_ERRORS = {"authentication_failed": AUTHENTICATION_FAILED}

MAX_SEPA_DELAY_SECONDS = 3600


def handle(state: State, method: str, path: str, query: dict[str, str], form: dict[str, str]) -> Reply:
    """Answer any request outside ``/v1/`` and ``/_sandbox/``."""
    match = PAGE_PATH.match(path)
    if match is None:
        return not_found()
    session_id = match["session_id"]
    action = match["action"]
    if method not in ("GET", "HEAD", "POST"):
        return html(405, layout("Method not allowed", notice("Method not allowed.", "")))
    session = payments.session_for_page(state, session_id)
    if session is None:
        return not_found()
    if action == "/cancel":
        return redirect(payments.cancel_session_url(state, session_id))
    if not _is_open(state, session):
        return closed_page(session, session_id, 200 if method != "POST" else 409)
    if action == "/3ds":
        if method == "POST":
            return _submit_3ds(state, session, session_id, form)
        return html(200, challenge_page(session, session_id))
    if method == "POST":
        return _submit_payment(state, session, session_id, form)
    error = REDIRECT_ERRORS.get(query.get("error", ""))
    return html(402 if error else 200, checkout_page(session, session_id, errors=_opt(error)))


# --- actions -------------------------------------------------------------------------------


def _submit_payment(state: State, session: Mapping[str, Any], session_id: str, form: Mapping[str, str]) -> Reply:
    if form.get("method") == "sepa_debit":
        return _submit_sepa(state, session, session_id, form)
    values = {key: form.get(key, "").strip() for key in ("number", "expiry", "cvc", "name")}
    errors: list[str] = []
    invalid: set[str] = set()
    extra = _address_input(session, form, values, errors, invalid)
    payment_method = ""
    try:
        payment_method = payments.card_to_payment_method(values["number"])
    except ValueError as error:
        errors.append(str(error) or "Your card number is invalid.")
        invalid.add("number")
    for field, message in (
        ("expiry", expiry_error(values["expiry"], dt.datetime.now(dt.UTC).date())),
        ("cvc", cvc_error(values["cvc"])),
    ):
        if message:
            errors.append(message)
            invalid.add(field)
    if errors:
        page = checkout_page(session, session_id, errors=errors, values=values, invalid=invalid)
        return html(200, page)

    result = _pay(state, session_id, payment_method, **extra)
    if isinstance(result, str):
        return _payment_refused(state, session_id, result, values)
    if result.status == "requires_action":
        return redirect(f"/c/pay/{session_id}/3ds")
    if result.ok and result.redirect_url:
        return redirect(result.redirect_url)
    message = _decline_message(result)
    page = checkout_page(session, session_id, errors=[message], values=values, invalid={"number"})
    return html(402, page)


def _address_input(
    session: Mapping[str, Any], form: Mapping[str, str], values: dict[str, str], errors: list[str], invalid: set[str]
) -> dict[str, Any]:
    """The addresses and shipping option from the form, checked as the API checks them (errors collected)."""
    extra: dict[str, Any] = {}
    collection = session.get("shipping_address_collection")
    wanted = [("shipping", collection["allowed_countries"])] if collection else []
    if session.get("billing_address_collection") == "required":
        wanted.append(("billing", None))
    for prefix, allowed in wanted:
        fields = ("name", *shipping.ADDRESS_FIELDS)
        address = {key: form.get(f"{prefix}_{key}", "").strip() for key in fields}
        values.update({f"{prefix}_{key}": value for key, value in address.items()})
        problems = shipping.address_errors(address, allowed=allowed, what=prefix)
        errors.extend(problems.values())
        invalid.update(f"{prefix}_{key}" for key in problems)
        extra[f"{prefix}_details"] = address
    if session.get("shipping_options"):
        rate = form.get("shipping_rate", "").strip()
        offered = {option["shipping_rate"] for option in session["shipping_options"]}
        if rate not in offered:
            errors.append("Choose a shipping method.")
        else:
            values["shipping_rate"] = rate
            extra["shipping_rate"] = rate
    return extra


def _submit_sepa(state: State, session: Mapping[str, Any], session_id: str, form: Mapping[str, str]) -> Reply:
    outcome = form.get("delayed_outcome", "succeeded")
    delay_text = form.get("delay_seconds", "").strip() or str(DEFAULT_SEPA_DELAY_SECONDS)
    errors = []
    if outcome not in ("succeeded", "failed"):
        errors.append("Choose whether the bank debit succeeds or fails.")
    delay = _parse_delay(delay_text)
    if delay is None:
        errors.append(f"The settlement delay must be 0 to {MAX_SEPA_DELAY_SECONDS} seconds.")
    if errors or delay is None:
        sepa = {"delayed_outcome": outcome, "delay_seconds": delay_text}
        return html(200, checkout_page(session, session_id, errors=errors, sepa=sepa))
    result = _pay(state, session_id, "pm_sepa_debit", delayed_outcome=outcome, delay_seconds=delay)
    if isinstance(result, str):
        return _payment_refused(state, session_id, result)
    if result.ok and result.redirect_url:
        return redirect(result.redirect_url)
    return html(402, checkout_page(session, session_id, errors=[_decline_message(result)]))


def _submit_3ds(state: State, session: Mapping[str, Any], session_id: str, form: Mapping[str, str]) -> Reply:
    choice = form.get("result")
    if choice not in ("approve", "fail"):
        return html(400, challenge_page(session, session_id, error="Choose an answer."))
    payment_method = (
        "pm_card_authenticationRequired_approved" if choice == "approve" else "pm_card_authenticationRequired_failed"
    )
    result = _pay(state, session_id, payment_method)
    if isinstance(result, str):
        return _payment_refused(state, session_id, result)
    if result.ok and result.redirect_url:
        return redirect(result.redirect_url)
    # Back to the form by redirect so that reloading it does not post the challenge again.
    return redirect(f"/c/pay/{session_id}?error=authentication_failed")


def _pay(state: State, session_id: str, payment_method: str, **outcome: Any) -> payments.PayResult | str:
    """The payment's result, or why the engine refused to try (the session closed meanwhile...)."""
    try:
        return payments.pay_session(state, session_id, payment_method, **outcome)
    except payments.PaymentError as error:
        return error.message


def _payment_refused(state: State, session_id: str, message: str, values: Mapping[str, str] | None = None) -> Reply:
    # Typically a second tab or a double submit: the session is no longer open, so say what it is now.
    session = payments.session_for_page(state, session_id)
    if session is None:
        return not_found()
    if not _is_open(state, session):
        return closed_page(session, session_id, 409)
    return html(400, checkout_page(session, session_id, errors=[message], values=values))


def _is_open(state: State, session: Mapping[str, Any]) -> bool:
    # An open session past its expires_at is expired even before the sweeper gets to it.
    expires_at = session.get("expires_at")
    return session.get("status") == "open" and not (expires_at and expires_at <= state.now())


def _decline_message(result: payments.PayResult) -> str:
    if result.status == "requires_action":
        return AUTHENTICATION_FAILED
    if result.decline_code in DECLINE_MESSAGES:
        return DECLINE_MESSAGES[result.decline_code]
    return result.message or "Your card was declined."


# --- validation ----------------------------------------------------------------------------


def expiry_error(expiry: str, today: dt.date) -> str | None:
    """Why ``expiry`` (MM/YY or MM/YYYY) is not a plausible expiry date, or None."""
    match = re.fullmatch(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})", expiry.strip())
    if match is None:
        return "Your card's expiration date is incomplete (use MM/YY)."
    month, year = int(match[1]), int(match[2])
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        return "Your card's expiration month is invalid."
    if (year, month) < (today.year, today.month):
        return "Your card's expiration date is in the past."
    if year > today.year + 50:
        return "Your card's expiration year is invalid."
    return None


def cvc_error(cvc: str) -> str | None:
    """Why ``cvc`` is not a plausible security code, or None."""
    if re.fullmatch(r"\d{3,4}", cvc.strip()):
        return None
    return "Your card's security code is incomplete (3 or 4 digits)."


def _parse_delay(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_SEPA_DELAY_SECONDS else None


def _opt(message: str | None) -> list[str] | None:
    return [message] if message else None
