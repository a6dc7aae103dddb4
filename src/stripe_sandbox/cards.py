"""Stripe's test cards: numbers (for the hosted page) and test PaymentMethods (for the test helper).

Each has Stripe's documented outcome (https://docs.stripe.com/testing): success with the card's brand,
funding and last four digits; a decline with its ``code`` and ``decline_code``; a 3-D Secure challenge;
a card whose refunds fail later. :mod:`stripe_sandbox.payments` acts on them.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Method:
    kind: str  # "succeed" | "decline" | "challenge" | "delayed"
    method_type: str = "card"
    last4: str = "4242"
    brand: str = "visa"
    funding: str = "credit"
    country: str = "US"
    decline_code: str | None = None
    failure_code: str | None = None  # the error's and the charge's ``code``
    message: str = ""
    error_param: str | None = None  # the card field a decline names (``cvc``, ``exp_month``)
    risk_level: str = "normal"
    blocked: bool = False  # declined by Radar before reaching the card network
    refund_fails: bool = False  # refunds succeed, then fail asynchronously


def _declined(last4: str, decline_code: str, message: str, code: str = "card_declined", **more: object) -> Method:
    return Method("decline", last4=last4, decline_code=decline_code, failure_code=code, message=message, **more)  # type: ignore[arg-type]


DECLINED = "Your card was declined."
AUTHENTICATION_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment method and try again."
)

PAYMENT_METHODS: dict[str, Method] = {
    # Brands: every one succeeds.
    "pm_card_visa": Method("succeed"),
    "pm_card_visa_debit": Method("succeed", last4="5556", funding="debit"),
    "pm_card_mastercard": Method("succeed", last4="4444", brand="mastercard"),
    "pm_card_mastercard_debit": Method("succeed", last4="8210", brand="mastercard", funding="debit"),
    "pm_card_mastercard_prepaid": Method("succeed", last4="5100", brand="mastercard", funding="prepaid"),
    "pm_card_amex": Method("succeed", last4="0005", brand="amex"),
    "pm_card_discover": Method("succeed", last4="1117", brand="discover"),
    "pm_card_diners": Method("succeed", last4="0004", brand="diners"),
    "pm_card_jcb": Method("succeed", last4="0505", brand="jcb", country="JP"),
    "pm_card_unionpay": Method("succeed", last4="0005", brand="unionpay", country="CN"),
    # Declines.
    "pm_card_chargeDeclined": _declined("0002", "generic_decline", DECLINED),
    "pm_card_chargeDeclinedInsufficientFunds": _declined(
        "9995", "insufficient_funds", "Your card has insufficient funds."
    ),
    "pm_card_chargeDeclinedLostCard": _declined("9987", "lost_card", DECLINED),
    "pm_card_chargeDeclinedStolenCard": _declined("9979", "stolen_card", DECLINED),
    "pm_card_chargeDeclinedExpiredCard": _declined(
        "0069", "expired_card", "Your card has expired.", "expired_card", error_param="exp_month"
    ),
    "pm_card_chargeDeclinedIncorrectCvc": _declined(
        "0127", "incorrect_cvc", "Your card's security code is incorrect.", "incorrect_cvc", error_param="cvc"
    ),
    "pm_card_chargeDeclinedProcessingError": _declined(
        "0119",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
        "processing_error",
    ),
    "pm_card_chargeDeclinedVelocityLimitExceeded": _declined(
        "6975",
        "card_velocity_exceeded",
        "Your card was declined for making repeated attempts too frequently or exceeding its amount limit.",
    ),
    # Fraud: Radar blocks the highest risk; an elevated risk succeeds, flagged.
    "pm_card_radarBlock": _declined("0019", "fraudulent", DECLINED, risk_level="highest", blocked=True),
    "pm_card_riskLevelElevated": Method("succeed", last4="9235", risk_level="elevated"),
    # Refunds fail later.
    "pm_card_refundFail": Method("succeed", last4="5126", refund_fails=True),
    # 3-D Secure: the challenge, and the two ways it ends.
    "pm_card_authenticationRequired": Method("challenge", last4="3155"),
    "pm_card_authenticationRequired_approved": Method("succeed", last4="3155"),
    "pm_card_authenticationRequired_failed": _declined(
        "3155", "authentication_required", AUTHENTICATION_FAILED, "payment_intent_authentication_failure"
    ),
    # A bank debit that settles later.
    "pm_sepa_debit": Method("delayed", method_type="sepa_debit", last4="3000", brand="", country="DE"),
}

# Card numbers → test PaymentMethods, with what each does (the hosted page lists them).
CARD_NUMBERS: dict[str, tuple[str, str]] = {
    "4242424242424242": ("pm_card_visa", "Visa: succeeds"),
    "4000056655665556": ("pm_card_visa_debit", "Visa (debit): succeeds"),
    "5555555555554444": ("pm_card_mastercard", "Mastercard: succeeds"),
    "5200828282828210": ("pm_card_mastercard_debit", "Mastercard (debit): succeeds"),
    "5105105105105100": ("pm_card_mastercard_prepaid", "Mastercard (prepaid): succeeds"),
    "378282246310005": ("pm_card_amex", "American Express: succeeds"),
    "6011111111111117": ("pm_card_discover", "Discover: succeeds"),
    "3056930009020004": ("pm_card_diners", "Diners Club: succeeds"),
    "3566002020360505": ("pm_card_jcb", "JCB: succeeds"),
    "6200000000000005": ("pm_card_unionpay", "UnionPay: succeeds"),
    "4000000000000002": ("pm_card_chargeDeclined", "Declined (generic)"),
    "4000000000009995": ("pm_card_chargeDeclinedInsufficientFunds", "Declined: insufficient funds"),
    "4000000000009987": ("pm_card_chargeDeclinedLostCard", "Declined: lost card"),
    "4000000000009979": ("pm_card_chargeDeclinedStolenCard", "Declined: stolen card"),
    "4000000000000069": ("pm_card_chargeDeclinedExpiredCard", "Declined: expired card"),
    "4000000000000127": ("pm_card_chargeDeclinedIncorrectCvc", "Declined: incorrect CVC"),
    "4000000000000119": ("pm_card_chargeDeclinedProcessingError", "Declined: processing error"),
    "4000000000006975": ("pm_card_chargeDeclinedVelocityLimitExceeded", "Declined: too many attempts"),
    "4100000000000019": ("pm_card_radarBlock", "Blocked as fraudulent (highest risk)"),
    "4000000000009235": ("pm_card_riskLevelElevated", "Succeeds, elevated risk"),
    "4000000000005126": ("pm_card_refundFail", "Succeeds; its refunds fail later"),
    "4000002500003155": ("pm_card_authenticationRequired", "Asks for 3-D Secure authentication"),
}


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def card_to_payment_method(number: str) -> str:
    """The test payment method for a test card number (spaces and dashes allowed)."""
    digits = "".join(number.split()).replace("-", "")
    if not digits:
        raise ValueError("Enter a card number.")
    if not digits.isdigit() or not 13 <= len(digits) <= 19 or not luhn_ok(digits):
        raise ValueError("Your card number is incorrect.")
    try:
        return CARD_NUMBERS[digits][0]
    except KeyError:
        raise ValueError(
            "Your card number is not a sandbox test card. Use 4242 4242 4242 4242 (succeeds) "
            "or another card from the list below."
        ) from None
