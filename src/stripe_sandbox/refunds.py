"""Refunds and disputes of succeeded charges, with the events Stripe records for them."""

from __future__ import annotations

import copy
from typing import Any

from stripe_sandbox import charge_objects, objects
from stripe_sandbox.errors import invalid
from stripe_sandbox.params import Params
from stripe_sandbox.reads import load
from stripe_sandbox.state import NO_REQUEST, RequestContext, State

REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
# A refund of a charge paid with Stripe's card 4000000000005126 fails this long (sandbox clock) after it
# succeeded, for this reason.
REFUND_FAILURE_DELAY_SECONDS = 5.0
REFUND_FAILURE_REASON = "expired_or_canceled_card"
DISPUTE_REASONS = (
    "bank_cannot_process", "credit_not_processed", "customer_initiated", "debit_not_authorized",
    "duplicate", "fraudulent", "general", "incorrect_account_details", "insufficient_funds",
    "product_not_received", "product_unacceptable", "subscription_canceled", "unrecognized",
)  # fmt: skip


def create_refund(state: State, params: Params, ctx: RequestContext) -> dict[str, Any]:
    charge_id = params.text("charge")
    intent_id = params.text("payment_intent")
    amount = params.integer("amount", minimum=1)
    if params.has("amount") and amount is None:
        raise invalid("Invalid positive integer", "amount")
    reason = params.text("reason", choices=REFUND_REASONS)
    metadata = params.metadata()
    if charge_id and intent_id:
        raise invalid("You can only specify one of these parameters: charge, payment_intent.", "charge")
    with state.transaction():
        if intent_id:
            intent = load(state, "payment_intent", intent_id, "payment_intent")
            if not intent["latest_charge"] or intent["status"] != "succeeded":
                raise invalid(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                    "payment_intent",
                )
            charge_id = intent["latest_charge"]
        if not charge_id:
            raise invalid(
                "One of the following params should be provided for this request: payment_intent or charge.",
                "charge",
                "parameter_missing",
            )
        charge = load(state, "charge", charge_id, "charge")
        if charge["status"] != "succeeded":
            raise invalid(f"Charge {charge_id} has not succeeded and cannot be refunded.", "charge")
        if charge["disputed"]:
            raise invalid(
                f"Charge {charge_id} has been charged back; cannot issue a refund.",
                "charge",
                "charge_disputed",
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise invalid(
                f"Charge {charge_id} has already been refunded.",
                "charge",
                "charge_already_refunded",
            )
        if amount is None:
            amount = remaining
        elif amount > remaining:
            raise invalid(
                f"Refund amount ({amount} {charge['currency']}) is greater than unrefunded "
                f"amount on charge ({remaining} {charge['currency']})",
                "amount",
                "amount_too_large",
            )
        now = int(state.now())
        refund = charge_objects.refund(created=now, charge_obj=charge, amount=amount, reason=reason, metadata=metadata)
        state.store.put(refund)
        state.emit("refund.created", refund, ctx)

        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        charge["refunds"]["data"].insert(0, objects.public(refund))
        state.store.put(charge)
        state.emit("charge.refunded", charge, ctx, previous_attributes=previous)

        fails_later = bool(charge.get("_refund_fails"))
        if fails_later:
            # Stripe's card 4000000000005126: the refund succeeds, then fails some time later.
            state.store.set_timer(refund["id"], "refund_fail", state.now() + REFUND_FAILURE_DELAY_SECONDS)
        else:
            _reference_arrives(state, charge, refund, ctx)
        shown = state.render(refund)
    if fails_later:
        state.timer_set()
    return shown


def _reference_arrives(state: State, charge: dict[str, Any], refund: dict[str, Any], ctx: RequestContext) -> None:
    """The acquirer reference number arrives: Stripe reports it as refund.updated."""
    card = refund["destination_details"].get("card")
    if card is None:
        return
    previous_card = copy.deepcopy(card)
    card["reference"] = objects.new_id("", 23).upper()
    card["reference_status"] = "available"
    state.store.put(refund)
    _replace_refund(charge, refund)
    state.store.put(charge)
    state.emit("refund.updated", refund, ctx, previous_attributes={"destination_details": {"card": previous_card}})


def fail_refund(state: State, refund_id: str) -> None:
    """A refund that succeeded fails (called by the sandbox's timers, inside a transaction).

    As Stripe: the refund turns ``failed`` with a ``failure_reason`` and a ``failure_balance_transaction``,
    its amount goes back to the charge's refundable amount, and refund.updated, charge.refund.updated and
    refund.failed are sent, each with the refund.
    """
    refund = state.store.get(refund_id, "refund")
    if refund is None or refund["status"] not in ("pending", "succeeded"):
        return
    charge = state.store.get(refund["charge"], "charge")
    if charge is None:
        return
    previous = {"status": refund["status"]}
    refund.update(
        status="failed",
        failure_reason=REFUND_FAILURE_REASON,
        failure_balance_transaction=objects.new_id("txn_"),
    )
    card = refund["destination_details"].get("card")
    if card is not None:
        card["reference_status"] = "unavailable"
    state.store.put(refund)
    charge["amount_refunded"] = max(0, charge["amount_refunded"] - refund["amount"])
    charge["refunded"] = False
    _replace_refund(charge, refund)
    state.store.put(charge)
    state.emit("refund.updated", refund, NO_REQUEST, previous_attributes=previous)
    state.emit("charge.refund.updated", refund, NO_REQUEST, previous_attributes=previous)
    state.emit("refund.failed", refund, NO_REQUEST)


def _replace_refund(charge: dict[str, Any], refund: dict[str, Any]) -> None:
    charge["refunds"]["data"] = [
        objects.public(refund) if item["id"] == refund["id"] else item for item in charge["refunds"]["data"]
    ]


def create_dispute(state: State, charge_id: str, params: Params, ctx: RequestContext) -> dict[str, Any]:
    reason = params.text("reason", choices=DISPUTE_REASONS) or "fraudulent"
    amount = params.integer("amount", minimum=1)
    with state.transaction():
        charge = load(state, "charge", charge_id, "charge")
        if charge["status"] != "succeeded":
            raise invalid(f"Charge {charge_id} has not succeeded.", "charge")
        if charge["disputed"]:
            raise invalid(f"Charge {charge_id} is already disputed.", "charge")
        disputable = charge["amount"] - charge["amount_refunded"]
        if disputable <= 0:
            raise invalid(f"Charge {charge_id} has been fully refunded.", "charge")
        if amount is None:
            amount = disputable
        elif amount > disputable:
            raise invalid("The dispute amount exceeds the disputable amount.", "amount")
        dispute = charge_objects.dispute(created=int(state.now()), charge_obj=charge, reason=reason, amount=amount)
        state.store.put(dispute)
        charge["disputed"] = True
        state.store.put(charge)
        state.emit("charge.dispute.created", dispute, ctx)
        return state.render(dispute)
