"""Stripe's test-card table, through the test helper (real SDK) and the hosted page's form (HTTP)."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import pytest
import stripe

from stripe_sandbox.cards import CARD_NUMBERS

from .conftest import create_session, pay

BRANDS = [
    ("4242424242424242", "pm_card_visa", "visa", "credit", "4242"),
    ("4000056655665556", "pm_card_visa_debit", "visa", "debit", "5556"),
    ("5555555555554444", "pm_card_mastercard", "mastercard", "credit", "4444"),
    ("5200828282828210", "pm_card_mastercard_debit", "mastercard", "debit", "8210"),
    ("5105105105105100", "pm_card_mastercard_prepaid", "mastercard", "prepaid", "5100"),
    ("378282246310005", "pm_card_amex", "amex", "credit", "0005"),
    ("6011111111111117", "pm_card_discover", "discover", "credit", "1117"),
    ("3056930009020004", "pm_card_diners", "diners", "credit", "0004"),
    ("3566002020360505", "pm_card_jcb", "jcb", "credit", "0505"),
    ("6200000000000005", "pm_card_unionpay", "unionpay", "credit", "0005"),
]
# number, payment method, error code, decline code, param, message
DECLINES = [
    ("4000000000000002", "pm_card_chargeDeclined", "card_declined", "generic_decline", None, "Your card was declined."),
    ("4000000000009995", "pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds", None,
     "Your card has insufficient funds."),
    ("4000000000009987", "pm_card_chargeDeclinedLostCard", "card_declined", "lost_card", None,
     "Your card was declined."),
    ("4000000000009979", "pm_card_chargeDeclinedStolenCard", "card_declined", "stolen_card", None,
     "Your card was declined."),
    ("4000000000000069", "pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", "exp_month",
     "Your card has expired."),
    ("4000000000000127", "pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc", "cvc",
     "Your card's security code is incorrect."),
    ("4000000000000119", "pm_card_chargeDeclinedProcessingError", "processing_error", "processing_error", None,
     "An error occurred while processing your card. Try again in a little bit."),
    ("4000000000006975", "pm_card_chargeDeclinedVelocityLimitExceeded", "card_declined", "card_velocity_exceeded",
     None, "Your card was declined for making repeated attempts too frequently or exceeding its amount limit."),
    ("4100000000000019", "pm_card_radarBlock", "card_declined", "fraudulent", None, "Your card was declined."),
]  # fmt: skip


def charge_of(client: stripe.StripeClient, session_id: str) -> stripe.Charge:
    session = client.v1.checkout.sessions.retrieve(session_id)
    intent = client.v1.payment_intents.retrieve(str(session.payment_intent))
    return client.v1.charges.retrieve(str(intent.latest_charge))


@pytest.mark.parametrize(("number", "method", "brand", "funding", "last4"), BRANDS, ids=[b[1] for b in BRANDS])
def test_every_brand_pays_and_shows_on_the_charge(
    client: stripe.StripeClient, number: str, method: str, brand: str, funding: str, last4: str
) -> None:
    assert CARD_NUMBERS[number][0] == method
    session = create_session(client)

    paid = pay(client, session.id, method)

    assert paid.payment_status == "paid"
    card = charge_of(client, session.id).payment_method_details.card
    assert (card.brand, card.funding, card.last4, card.network) == (brand, funding, last4, brand)


@pytest.mark.parametrize(("number", "method", "code", "decline_code", "param", "message"), DECLINES,
                         ids=[d[3] for d in DECLINES])  # fmt: skip
def test_each_decline_raises_its_card_error(
    client: stripe.StripeClient,
    number: str,
    method: str,
    code: str,
    decline_code: str,
    param: str | None,
    message: str,
) -> None:
    session = create_session(client)

    with pytest.raises(stripe.CardError) as caught:
        pay(client, session.id, method)

    error = caught.value
    assert error.http_status == 402
    assert (error.code, error.param, error.user_message) == (code, param, message)
    assert error.error is not None
    assert (error.error.type, error.error.decline_code) == ("card_error", decline_code)
    charge = charge_of(client, session.id)
    reason = "highest_risk_level" if method == "pm_card_radarBlock" else decline_code  # Radar's, not the bank's
    assert (charge.status, charge.failure_code, charge.outcome.reason) == ("failed", code, reason)
    assert charge.payment_method_details.card.last4 == number[-4:]
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_radar_blocks_the_highest_risk_card(client: stripe.StripeClient) -> None:
    session = create_session(client)
    with pytest.raises(stripe.CardError):
        pay(client, session.id, "pm_card_radarBlock")
    outcome = charge_of(client, session.id).outcome
    assert (outcome.type, outcome.risk_level, outcome.network_status) == ("blocked", "highest", "not_sent_to_network")


def test_an_elevated_risk_card_succeeds_flagged(client: stripe.StripeClient) -> None:
    session = create_session(client)
    pay(client, session.id, "pm_card_riskLevelElevated")
    outcome = charge_of(client, session.id).outcome
    assert (outcome.type, outcome.risk_level) == ("authorized", "elevated")


def post_card(url: str, number: str) -> tuple[int, str]:
    form = {"method": "card", "number": number, "expiry": "12/34", "cvc": "123", "name": "Ada"}
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize(("number", "brand", "last4"), [(b[0], b[2], b[4]) for b in BRANDS[2:]],
                         ids=[b[2] + "-" + b[3] for b in BRANDS[2:]])  # fmt: skip
def test_the_hosted_page_takes_every_brand(client: stripe.StripeClient, number: str, brand: str, last4: str) -> None:
    session = create_session(client)

    status, _ = post_card(session.url, number)

    assert status == 303
    card = charge_of(client, session.id).payment_method_details.card
    assert (card.brand, card.last4) == (brand, last4)


@pytest.mark.parametrize(("number", "message"), [(d[0], d[5]) for d in DECLINES], ids=[d[3] for d in DECLINES])
def test_the_hosted_page_shows_each_decline(client: stripe.StripeClient, number: str, message: str) -> None:
    session = create_session(client)

    status, page = post_card(session.url, number)

    assert status == 402
    assert message.replace("'", "&#x27;") in page
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_the_hosted_page_lists_the_test_cards(client: stripe.StripeClient) -> None:
    with urllib.request.urlopen(create_session(client).url, timeout=10) as response:
        page = response.read().decode()
    for number in ("4000 0000 0000 0069", "4000 0000 0000 0127", "4100 0000 0000 0019", "4000 0000 0000 5126"):
        assert number in page


def test_a_number_failing_the_luhn_check_is_incorrect(client: stripe.StripeClient) -> None:
    session = create_session(client)
    status, page = post_card(session.url, "4242424242424241")
    assert status == 200
    assert "Your card number is incorrect." in page
    assert client.v1.checkout.sessions.retrieve(session.id).payment_intent is None
