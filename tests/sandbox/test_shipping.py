"""Shipping on Checkout Sessions, as strict as Stripe: address collection in allowed countries, up to five
fixed-amount options (`shipping_rate_data` makes `shr_` rates), the chosen option in `amount_total`, and the
buyer's addresses on the completed session and its event."""

from __future__ import annotations

import urllib.parse
import urllib.request
from typing import Any

import pytest
import stripe

from .conftest import create_session, pay

BERLIN = {"line1": "Oranienstraße 12", "postal_code": "10999", "city": "Berlin", "country": "DE"}


def rate(name: str, amount: int, currency: str = "eur", **extra: Any) -> dict[str, Any]:
    return {
        "shipping_rate_data": {
            "type": "fixed_amount",
            "display_name": name,
            "fixed_amount": {"amount": amount, "currency": currency},
            **extra,
        }
    }


def shipping_session(client: stripe.StripeClient, **overrides: Any) -> stripe.checkout.Session:
    params = {
        "shipping_address_collection": {"allowed_countries": ["DE", "FR"]},
        "shipping_options": [
            rate(
                "Standard",
                490,
                delivery_estimate={
                    "minimum": {"unit": "business_day", "value": 1},
                    "maximum": {"unit": "business_day", "value": 3},
                },
            ),
            rate("Express", 1290),
        ],
        **overrides,
    }
    return create_session(client, **params)


def refused(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as error:
        call()
    return error.value


def test_shipping_options_make_rates_and_the_first_is_chosen(client: stripe.StripeClient) -> None:
    session = shipping_session(client)

    assert session.shipping_address_collection.allowed_countries == ["DE", "FR"]  # type: ignore[union-attr]
    standard, express = (client.v1.shipping_rates.retrieve(o.shipping_rate) for o in session.shipping_options)  # type: ignore[arg-type]
    assert standard.id.startswith("shr_")
    assert (standard.display_name, standard.fixed_amount.amount, standard.type) == ("Standard", 490, "fixed_amount")  # type: ignore[union-attr]
    assert standard.delivery_estimate.maximum.unit == "business_day"  # type: ignore[union-attr]
    assert express.fixed_amount.amount == 1290  # type: ignore[union-attr]
    assert [o.shipping_amount for o in session.shipping_options] == [490, 1290]
    assert session.amount_subtotal == 2 * 2500 + 900
    assert session.amount_total == session.amount_subtotal + 490
    assert session.shipping_cost.shipping_rate == standard.id  # type: ignore[union-attr]
    assert session.total_details.amount_shipping == 490  # type: ignore[union-attr]


def test_paying_with_an_address_and_another_option(client: stripe.StripeClient) -> None:
    session = shipping_session(client, billing_address_collection="required")
    express = session.shipping_options[1].shipping_rate
    billing = {"name": "Ada Lovelace", "address": {**BERLIN, "line1": "Billing Str. 1"}}

    paid = pay(
        client, session.id, "pm_card_visa", shipping_details={"name": "Ada Lovelace", "address": BERLIN},
        billing_details=billing, shipping_rate=express,
    )  # fmt: skip

    assert paid.amount_total == 5900 + 1290
    assert paid.shipping_cost.amount_total == 1290  # type: ignore[union-attr]
    assert paid.shipping_cost.shipping_rate == express  # type: ignore[union-attr]
    shipping = paid.collected_information.shipping_details  # type: ignore[union-attr]
    assert shipping.name == "Ada Lovelace"
    assert (shipping.address.line1, shipping.address.city, shipping.address.country) == (
        "Oranienstraße 12",
        "Berlin",
        "DE",
    )
    assert paid.customer_details.address.line1 == "Billing Str. 1"  # type: ignore[union-attr]
    assert paid.billing_address_collection == "required"
    intent = client.v1.payment_intents.retrieve(paid.payment_intent)  # type: ignore[arg-type]
    assert intent.amount == paid.amount_total
    assert intent.shipping.address.city == "Berlin"  # type: ignore[union-attr]
    completed = next(e for e in client.v1.events.list().data if e.type == "checkout.session.completed")
    shown = completed.data.object
    assert shown["amount_total"] == 7190
    assert shown["collected_information"]["shipping_details"]["address"]["postal_code"] == "10999"
    assert shown["shipping_cost"]["amount_total"] == 1290


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        (
            {"shipping_address_collection": {"allowed_countries": ["DE", "XX"]}},
            "shipping_address_collection[allowed_countries][1]",
        ),
        (
            {"shipping_address_collection": {"allowed_countries": ["DE"], "colour": "red"}},
            "shipping_address_collection[colour]",
        ),
        ({"shipping_options": [rate("Standard", 490, "usd")]}, "shipping_options[0]"),
        ({"shipping_options": [rate("Standard", -1)]}, "shipping_options[0][shipping_rate_data][fixed_amount][amount]"),
        (
            {
                "shipping_options": [
                    {"shipping_rate_data": {"type": "fixed_amount", "fixed_amount": {"amount": 1, "currency": "eur"}}}
                ]
            },
            "shipping_options[0][shipping_rate_data][display_name]",
        ),
        (
            {"shipping_options": [{"shipping_rate_data": {"display_name": "X"}}]},
            "shipping_options[0][shipping_rate_data][fixed_amount]",
        ),
        ({"shipping_options": [rate(f"R{i}", 100) for i in range(6)]}, "shipping_options"),
        ({"shipping_options": [{"shipping_rate": "shr_nope"}]}, "shipping_options[0][shipping_rate]"),
        (
            {"shipping_options": [rate("S", 1, delivery_estimate={"minimum": {"unit": "fortnight", "value": 1}})]},
            "shipping_options[0][shipping_rate_data][delivery_estimate][minimum][unit]",
        ),
        ({"billing_address_collection": "always"}, "billing_address_collection"),
    ],
)
def test_bad_shipping_params_are_refused_naming_the_param(
    client: stripe.StripeClient, overrides: dict[str, Any], param: str
) -> None:
    error = refused(lambda: create_session(client, **overrides))
    assert error.param == param
    assert client.v1.checkout.sessions.list().data == []


@pytest.mark.parametrize(
    ("details", "param"),
    [
        (None, "shipping_details"),
        ({"name": "Ada", "address": {**BERLIN, "country": "US", "state": "NY"}}, "shipping_details[address][country]"),
        ({"name": "Ada", "address": {**BERLIN, "country": "ZZ"}}, "shipping_details[address][country]"),
        ({"name": "", "address": BERLIN}, "shipping_details[name]"),
        ({"name": "Ada", "address": {**BERLIN, "line1": ""}}, "shipping_details[address][line1]"),
        ({"name": "Ada", "address": {**BERLIN, "postal_code": ""}}, "shipping_details[address][postal_code]"),
        ({"name": "Ada", "address": {**BERLIN, "city": ""}}, "shipping_details[address][city]"),
        ({"name": "Ada", "address": {**BERLIN, "floor": "3"}}, "shipping_details[address][floor]"),
    ],
)
def test_the_pay_helper_validates_the_address_strictly(
    client: stripe.StripeClient, details: dict[str, Any] | None, param: str
) -> None:
    session = shipping_session(client)
    extra = {"shipping_details": details} if details is not None else {}

    error = refused(lambda: pay(client, session.id, "pm_card_visa", **extra))

    assert error.param == param
    after = client.v1.checkout.sessions.retrieve(session.id)
    assert (after.status, after.payment_intent) == ("open", None)


def test_the_pay_helper_refuses_an_unknown_option_and_addresses_a_session_does_not_collect(
    client: stripe.StripeClient,
) -> None:
    session = shipping_session(client)
    details = {"name": "Ada", "address": BERLIN}
    assert (
        refused(lambda: pay(client, session.id, "pm_card_visa", shipping_details=details, shipping_rate="shr_x")).param
        == "shipping_rate"
    )
    plain = create_session(client)
    assert refused(lambda: pay(client, plain.id, "pm_card_visa", shipping_details=details)).param == "shipping_details"
    required = shipping_session(client, billing_address_collection="required")
    assert (
        refused(lambda: pay(client, required.id, "pm_card_visa", shipping_details=details)).param == "billing_details"
    )


def test_the_hosted_page_asks_for_the_address_in_the_allowed_countries_and_checks_it(
    client: stripe.StripeClient,
) -> None:
    session = shipping_session(client)
    page = urllib.request.urlopen(session.url, timeout=10).read().decode()
    assert 'name="shipping_line1"' in page
    assert '<option value="DE">Germany</option>' in page
    assert '<option value="FR">France</option>' in page
    assert 'value="US"' not in page
    assert "Express" in page
    assert "1–3 business days" in page
    assert "sepa-form" not in page  # goods are paid by card on this page

    form = {
        "method": "card", "number": "4242 4242 4242 4242", "expiry": "12/34", "cvc": "123", "name": "Ada",
        "shipping_name": "Ada", "shipping_line1": "", "shipping_postal_code": "10999", "shipping_city": "Berlin",
        "shipping_country": "US", "shipping_rate": session.shipping_options[1].shipping_rate,
    }  # fmt: skip
    request = urllib.request.Request(session.url, data=urllib.parse.urlencode(form).encode(), method="POST")  # type: ignore[arg-type]
    answer = urllib.request.urlopen(request, timeout=10).read().decode()
    assert "Enter the address (street and number)." in answer
    assert "We cannot ship to US." in answer
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
