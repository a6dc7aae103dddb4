"""Parameters the sandbox does not model are refused as Stripe refuses them, through the real SDK."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_sandbox import api
from stripe_sandbox.param_tables import SPECS, TABLES

from .conftest import create_session, pay, session_params


def refusal(call: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"payment_intent_data": {"capture_method": "manual", "metadata": {"order": "B-1"}}},
         "payment_intent_data[capture_method]"),
        ({"automatic_tax": {"enabled": True}}, "automatic_tax"),
        ({"discounts": [{"coupon": "SUMMER"}]}, "discounts"),
        ({"customer": "cus_123"}, "customer"),
        ({"allow_promotion_codes": True}, "allow_promotion_codes"),
        ({"payment_method_options": {"card": {"request_three_d_secure": "any"}}}, "payment_method_options"),
        ({"metadata": {"order": "B-1"}, "nonsense": "1"}, "nonsense"),
    ],
    ids=["capture_method", "automatic_tax", "discounts", "customer", "promotion_codes", "pm_options", "nonsense"],
)  # fmt: skip
def test_unmodelled_session_parameters_are_refused_by_name(
    client: stripe.StripeClient, extra: dict[str, Any], param: str
) -> None:
    error = refusal(lambda: create_session(client, **extra))

    assert error.http_status == 400
    assert error.code == "parameter_unknown"
    assert error.param == param
    assert error.user_message == f"Received unknown parameter: {param}"
    assert error.error is not None
    assert error.error.type == "invalid_request_error"
    assert error.error.doc_url == "https://stripe.com/docs/error-codes/parameter_unknown"
    assert list(client.v1.checkout.sessions.list()) == []  # nothing was created


def test_nested_unknown_parameters_are_named_with_their_index(client: stripe.StripeClient) -> None:
    params = session_params()
    params["line_items"][1]["tax_rates"] = ["txr_1"]
    error = refusal(lambda: client.v1.checkout.sessions.create(params=params))  # type: ignore[arg-type]
    assert (error.code, error.param) == ("parameter_unknown", "line_items[1][tax_rates]")

    params = session_params()
    params["line_items"][0]["price_data"]["product_data"]["images"] = ["https://shop.test/a.png"]
    error = refusal(lambda: client.v1.checkout.sessions.create(params=params))  # type: ignore[arg-type]
    assert error.param == "line_items[0][price_data][product_data][images]"


BERLIN = {"line1": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}


def test_the_shops_address_and_shipping_parameters_are_accepted(client: stripe.StripeClient) -> None:
    session = create_session(
        client,
        billing_address_collection="required",
        shipping_address_collection={"allowed_countries": ["DE", "FR"]},
        shipping_options=[
            {
                "shipping_rate_data": {
                    "display_name": "Parcel",
                    "type": "fixed_amount",
                    "fixed_amount": {"amount": 490, "currency": "eur"},
                    "delivery_estimate": {
                        "minimum": {"unit": "business_day", "value": 2},
                        "maximum": {"unit": "business_day", "value": 5},
                    },
                    "metadata": {"kind": "parcel"},
                }
            }
        ],
    )
    assert session.status == "open"
    paid = pay(
        client,
        session.id,
        "pm_card_visa",
        # Complete addresses: the payment page (and so the helper) asks for street, city and postal code.
        billing_details={"name": "Ada", "address": BERLIN},
        shipping_details={"name": "Ada", "address": BERLIN},
    )
    assert paid.payment_status == "paid"
    assert paid.collected_information.shipping_details.address.postal_code == "10115"


def test_the_metadata_map_takes_any_key_but_nothing_else(client: stripe.StripeClient) -> None:
    session = create_session(client, metadata={"any_key_at_all": "x", "other": "y"})
    assert session.metadata.to_dict() == {"any_key_at_all": "x", "other": "y"}


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda c, s: c.v1.refunds.create(params={"payment_intent": s, "instructions_email": "a@b.c"}),
         "instructions_email"),
        (lambda c, s: c.v1.refunds.create(params={"payment_intent": s, "reverse_transfer": True}), "reverse_transfer"),
        (lambda c, s: c.v1.events.list(params={"delivery_success": False}), "delivery_success"),
        (lambda c, s: c.v1.checkout.sessions.list(params={"customer": "cus_1"}), "customer"),
        (lambda c, s: c.v1.checkout.sessions.retrieve("cs_x", params={"foo": "1"}), "foo"),
        (lambda c, s: c.v1.webhook_endpoints.create(
            params={"url": "https://x.test/h", "enabled_events": ["*"], "connect": True}), "connect"),
        (lambda c, s: pay(c, "cs_x", "pm_card_visa", capture="manual"), "capture"),
    ],
    ids=["refund-instructions_email", "refund-reverse_transfer", "events-delivery_success",
         "sessions-customer", "retrieve-foo", "endpoint-connect", "pay-capture"],
)  # fmt: skip
def test_other_endpoints_refuse_unknown_parameters(client: stripe.StripeClient, call: Any, param: str) -> None:
    session = create_session(client)
    pay(client, session.id, "pm_card_visa")
    intent = client.v1.checkout.sessions.retrieve(session.id).payment_intent

    error = refusal(lambda: call(client, intent))

    assert (error.http_status, error.code, error.param) == (400, "parameter_unknown", param)


def test_bookdesks_own_requests_are_accepted(client: stripe.StripeClient) -> None:
    """What bookdesk's gateway and reconciliation send (see bookdesk.payments.gateway)."""
    answer = client.raw_request(
        "post",
        "/v1/checkout/sessions",
        idempotency_key="checkout:BK-1:1",
        mode="payment",
        client_reference_id="BK-1",
        customer_email="ada@example.com",
        success_url="http://shop.test/ok",
        cancel_url="http://shop.test/cancel",
        metadata={"order": "BK-1"},
        payment_intent_data={"metadata": {"order": "BK-1"}},
        line_items=[
            {
                "quantity": 1,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 4500,
                    "product_data": {"name": "Course", "description": "Six evenings"},
                },
            }
        ],
    )
    session_id = answer.data["id"]
    client.v1.checkout.sessions.retrieve(session_id, params={"expand": ["line_items", "payment_intent"]})
    pay(client, session_id, "pm_card_visa")
    intent = client.v1.checkout.sessions.retrieve(session_id).payment_intent
    client.v1.refunds.create(params={"payment_intent": intent, "reason": "requested_by_customer", "amount": 100})
    client.v1.events.list(params={"created": {"gte": 0}, "types": ["checkout.session.completed"], "limit": 100})
    client.v1.checkout.sessions.list(params={"created": {"gte": 0}, "limit": 100})


def test_every_route_has_a_table() -> None:
    assert len(api.ROUTES) == len(TABLES) == len(SPECS)
