"""Builders for the objects of money that moves: charges (with their payment method details and
outcome), refunds and disputes, with every field Stripe's own fixture of the same object carries."""

from __future__ import annotations

from typing import Any

from stripe_sandbox.objects import empty_address, list_object, new_id


def card_details(last4: str, brand: str = "visa", funding: str = "credit", country: str = "US") -> dict[str, Any]:
    return {
        "amount_authorized": None,
        "authorization_code": None,
        "brand": brand,
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": country,
        "exp_month": 12,
        "exp_year": 2034,
        "extended_authorization": {"status": "disabled"},
        "fingerprint": new_id("", 16),
        "funding": funding,
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": last4,
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": brand,
        "network_token": {"used": False},
        "network_transaction_id": None,
        "overcapture": {"maximum_amount_capturable": 0, "status": "unavailable"},
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "transaction_link_id": None,
        "wallet": None,
    }


def sepa_details() -> dict[str, Any]:
    return {
        "bank_code": "37040044",
        "branch_code": None,
        "country": "DE",
        "fingerprint": new_id("", 16),
        "last4": "3000",
        "mandate": new_id("mandate_"),
    }


def charge(
    *,
    created: int,
    intent: dict[str, Any],
    payment_method: str,
    method_type: str,
    method_details: dict[str, Any],
    email: str | None,
) -> dict[str, Any]:
    charge_id = new_id("ch_")
    return {
        "id": charge_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": {
            "address": empty_address(),
            "email": email,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "BOOKDESK SANDBOX",
        "captured": False,
        "created": created,
        "currency": intent["currency"],
        "customer": None,
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": None,
        "paid": False,
        "payment_intent": intent["id"],
        "payment_method": payment_method,
        "payment_method_details": {method_type: method_details, "type": method_type},
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{new_id('', 40)}",
        "refunded": False,
        "refunds": list_object(f"/v1/charges/{charge_id}/refunds", []),
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "pending",
        "transfer_data": None,
        "transfer_group": None,
    }


def charge_outcome(
    *,
    approved: bool,
    reason: str | None = None,
    message: str | None = None,
    risk_level: str = "normal",
    blocked: bool = False,
) -> dict[str, Any]:
    risk_score = {"normal": 20, "elevated": 65, "highest": 85}.get(risk_level, 20)
    if approved:
        return {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": "elevated_risk_level" if risk_level == "elevated" else None,
            "risk_level": risk_level,
            "risk_score": risk_score,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    if blocked:
        return {
            "advice_code": "do_not_try_again",
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "not_sent_to_network",
            "reason": "highest_risk_level",
            "risk_level": risk_level,
            "risk_score": risk_score,
            "seller_message": "Stripe blocked this payment as too risky.",
            "type": "blocked",
        }
    return {
        "advice_code": "try_again_later",
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "declined_by_network",
        "reason": reason,
        "risk_level": risk_level,
        "risk_score": risk_score,
        "seller_message": message or "The bank did not return any further details.",
        "type": "issuer_declined",
    }


def refund(
    *,
    created: int,
    charge_obj: dict[str, Any],
    amount: int,
    reason: str | None,
    metadata: dict[str, str],
) -> dict[str, Any]:
    method_type = charge_obj["payment_method_details"]["type"]
    destination: dict[str, Any] = {"type": method_type, method_type: {}}
    if method_type == "card":
        destination["card"] = {
            "reference": None,
            "reference_status": "pending",
            "reference_type": "acquirer_reference_number",
            "type": "refund",
        }
    return {
        "id": new_id("re_"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn_"),
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "customer": None,
        "customer_account": None,
        "destination_details": destination,
        "metadata": metadata,
        "payment_intent": charge_obj["payment_intent"],
        "payment_method": charge_obj["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def dispute(*, created: int, charge_obj: dict[str, Any], reason: str, amount: int) -> dict[str, Any]:
    evidence_fields = [
        "access_activity_log",
        "billing_address",
        "cancellation_policy",
        "cancellation_policy_disclosure",
        "cancellation_rebuttal",
        "customer_communication",
        "customer_email_address",
        "customer_name",
        "customer_purchase_ip",
        "customer_signature",
        "duplicate_charge_documentation",
        "duplicate_charge_explanation",
        "duplicate_charge_id",
        "product_description",
        "receipt",
        "refund_policy",
        "refund_policy_disclosure",
        "refund_refusal_explanation",
        "service_date",
        "service_documentation",
        "shipping_address",
        "shipping_carrier",
        "shipping_date",
        "shipping_documentation",
        "shipping_tracking_number",
        "uncategorized_file",
        "uncategorized_text",
    ]
    evidence: dict[str, Any] = dict.fromkeys(evidence_fields)
    evidence["enhanced_evidence"] = {}
    method_type = charge_obj["payment_method_details"]["type"]
    method_details: dict[str, Any] = {"type": method_type}
    if method_type == "card":
        card = charge_obj["payment_method_details"]["card"]
        method_details["card"] = {
            "brand": card["brand"],
            "case_type": "chargeback",
            "network": card["network"],
            "network_reason_code": "10.4",
        }
    return {
        "id": new_id("dp_"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "enhanced_eligibility_types": [],
        "evidence": evidence,
        "evidence_details": {
            "due_by": created + 21 * 86400,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge_obj["payment_intent"],
        "payment_method_details": method_details,
        "reason": reason,
        "status": "needs_response",
    }
