"""Currencies, minimum amounts and payment method types, checked as Stripe checks them (real SDK, HTTP)."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
import stripe

from stripe_sandbox.pages import format_amount

from .conftest import create_session, pay


def items(currency: str, *amounts: int) -> list[dict[str, Any]]:
    return [
        {
            "price_data": {"currency": currency, "unit_amount": amount, "product_data": {"name": f"Item {i}"}},
            "quantity": 1,
        }
        for i, amount in enumerate(amounts)
    ]


def refused(client: stripe.StripeClient, **params: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create_session(client, **params)
    assert caught.value.http_status == 400
    assert caught.value.error is not None
    assert caught.value.error.type == "invalid_request_error"
    return caught.value


def test_an_unknown_currency_is_refused(client: stripe.StripeClient) -> None:
    error = refused(client, line_items=items("xxx", 1000))
    assert error.param == "line_items[0][price_data][currency]"
    assert "Invalid currency: xxx" in (error.user_message or "")

    error = refused(client, currency="xxx")
    assert error.param == "currency"


@pytest.mark.parametrize(
    ("currency", "too_small", "enough"),
    [("usd", 49, 50), ("eur", 49, 50), ("gbp", 29, 30), ("jpy", 49, 50), ("huf", 17499, 17500), ("chf", 10, 50)],
)
def test_totals_under_stripes_minimum_are_refused(
    client: stripe.StripeClient, currency: str, too_small: int, enough: int
) -> None:
    error = refused(client, line_items=items(currency, too_small))
    assert (error.code, error.param) == ("amount_too_small", "line_items")
    assert "must add up to at least" in (error.user_message or "")

    assert create_session(client, line_items=items(currency, enough)).amount_total == enough


def test_the_minimum_applies_to_the_total_not_each_line(client: stripe.StripeClient) -> None:
    session = create_session(client, line_items=items("eur", 0, 30, 20))
    assert session.amount_total == 50


def test_three_decimal_amounts_must_end_in_zero(client: stripe.StripeClient) -> None:
    error = refused(client, line_items=items("kwd", 5125))
    assert error.param == "line_items[0][price_data][unit_amount]"
    assert "end in 0" in (error.user_message or "")

    session = create_session(client, line_items=items("kwd", 5120))
    assert (session.currency, session.amount_total) == ("kwd", 5120)
    assert format_amount(5120, "kwd") == "5.120 KWD"


def test_zero_decimal_currencies_count_whole_units(client: stripe.StripeClient) -> None:
    session = create_session(client, line_items=items("jpy", 1500))
    assert session.amount_total == 1500
    assert format_amount(1500, "jpy") == "¥1,500"


def test_sepa_debit_needs_euros(client: stripe.StripeClient) -> None:
    error = refused(client, line_items=items("usd", 5000), payment_method_types=["card", "sepa_debit"])
    assert error.param == "payment_method_types[1]"
    assert "sepa_debit" in (error.user_message or "")

    session = create_session(client, line_items=items("eur", 5000), payment_method_types=["sepa_debit"])
    assert session.payment_method_types == ["sepa_debit"]


def test_without_types_a_session_offers_what_its_currency_allows(client: stripe.StripeClient) -> None:
    assert create_session(client, line_items=items("usd", 5000)).payment_method_types == ["card"]
    assert create_session(client, line_items=items("eur", 5000)).payment_method_types == ["card", "sepa_debit"]


def test_a_payment_method_the_session_does_not_allow_is_refused(client: stripe.StripeClient) -> None:
    session = create_session(client, line_items=items("usd", 5000))

    with pytest.raises(stripe.InvalidRequestError) as caught:
        pay(client, session.id, "pm_sepa_debit")

    assert (caught.value.param, caught.value.code) == ("payment_method", "payment_intent_invalid_parameter")
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"

    card_only = create_session(client, payment_method_types=["card"])
    with pytest.raises(stripe.InvalidRequestError):
        pay(client, card_only.id, "pm_sepa_debit")


def page_html(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_the_hosted_page_offers_only_the_sessions_methods(client: stripe.StripeClient) -> None:
    usd = page_html(create_session(client, line_items=items("usd", 5000)).url)
    assert 'id="card-form"' in usd
    assert 'id="sepa-form"' not in usd

    card_only = page_html(create_session(client, payment_method_types=["card"]).url)
    assert 'id="sepa-form"' not in card_only

    sepa_only = page_html(create_session(client, payment_method_types=["sepa_debit"]).url)
    assert 'id="sepa-form"' in sepa_only
    assert 'id="card-form"' not in sepa_only

    both = page_html(create_session(client).url)
    assert 'id="card-form"' in both
    assert 'id="sepa-form"' in both
