"""The wire protocol: keys, versions, headers, errors, form encoding."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import parse_qsl

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from stripe_sandbox.objects import API_VERSION
from stripe_sandbox.wire import flat_pairs, parse_form, parse_pairs, parse_query

from .conftest import API_KEY, create_session, make_client


def raw(base_url: str, method: str, path: str, headers: dict[str, str], body: bytes | None = None):
    request = urllib.request.Request(base_url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_bracket_notation_builds_nested_objects_and_arrays() -> None:
    params = parse_query(
        "metadata[order]=B-1&line_items[0][price_data][currency]=eur"
        "&line_items[0][quantity]=2&line_items[1][quantity]=3&expand[]=line_items&expand[]=payment_intent"
        "&types[0]=a&types[1]=b&created[gte]=10&empty="
    )
    assert params == {
        "metadata": {"order": "B-1"},
        "line_items": [{"price_data": {"currency": "eur"}, "quantity": "2"}, {"quantity": "3"}],
        "expand": ["line_items", "payment_intent"],
        "types": ["a", "b"],
        "created": {"gte": "10"},
        "empty": "",
    }
    assert parse_pairs(flat_pairs(params)) == params


FORM_PIECES = st.sampled_from(
    ["a", "b", "=", "&", "+", "%", "%2", "%5B", "%5D", "%26", "%3D", "%2B", "%e9", "%C3%A9", "%zz", "[", "]", "é", " "]
)


@given(st.lists(FORM_PIECES, max_size=30).map("".join))
def test_form_decoding_is_parse_qsls(text: str) -> None:
    assert parse_form(text) == parse_qsl(text, keep_blank_values=True)
    assert parse_form(text) == parse_qsl(text, keep_blank_values=True)  # again, from what it remembered


def test_long_names_and_values_are_decoded_alike() -> None:
    text = "metadata%5B" + "k" * 300 + "%5D=" + "v%20" * 200 + "&x=" + "%C3%A9" * 100
    assert parse_form(text) == parse_qsl(text, keep_blank_values=True)
    assert parse_pairs(parse_form(text))["metadata"] == {"k" * 300: "v " * 200}


def test_sdk_requests_answer_with_request_id_and_version(client: stripe.StripeClient) -> None:
    response = client.raw_request("get", "/v1/events")
    assert response.headers["Request-Id"].startswith("req_")
    assert response.headers["Stripe-Version"] == API_VERSION == stripe.api_version


def test_a_request_without_version_header_gets_the_pinned_version(base_url: str) -> None:
    status, headers, _ = raw(base_url, "GET", "/v1/events", {"Authorization": f"Bearer {API_KEY}"})
    assert status == 200
    assert headers["Stripe-Version"] == API_VERSION


def test_an_unknown_api_version_is_refused(base_url: str) -> None:
    client = make_client(base_url, stripe_version="2019-01-01")
    with pytest.raises(stripe.InvalidRequestError, match="Invalid Stripe API version"):
        client.v1.events.list()


def test_a_missing_key_is_an_authentication_error(base_url: str) -> None:
    status, _, body = raw(base_url, "GET", "/v1/events", {})
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("key", ["sk_live_abcdefghijkl", "pk_test_abcdefghijkl", "nonsense"])
def test_live_and_malformed_keys_are_refused(base_url: str, key: str) -> None:
    client = stripe.StripeClient(key, base_addresses={"api": base_url}, max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        client.v1.events.list()


def test_module_level_configuration_works(module_api_base: str) -> None:
    session = stripe.checkout.Session.create(
        mode="payment",
        success_url="http://shop.test/ok",
        line_items=[
            {"price_data": {"currency": "eur", "unit_amount": 100, "product_data": {"name": "X"}}, "quantity": 1}
        ],
    )
    assert stripe.checkout.Session.retrieve(session.id).id == session.id


def test_an_unknown_route_is_a_404_invalid_request(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="Unrecognized request URL") as caught:
        client.raw_request("get", "/v1/nothing_here")
    assert caught.value.http_status == 404


def test_an_unknown_object_is_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.payment_intents.retrieve("pi_missing")
    assert caught.value.http_status == 404
    assert caught.value.code == "resource_missing"


def test_an_unknown_parameter_is_named(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create_session(client, bogus="1")
    assert caught.value.param == "bogus"
    assert caught.value.code == "parameter_unknown"


def test_errors_carry_stripes_error_object(base_url: str) -> None:
    status, _, body = raw(
        base_url,
        "POST",
        "/v1/refunds",
        {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/x-www-form-urlencoded"},
        b"amount=abc",
    )
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["param"] == "amount"
    assert body["error"]["doc_url"].startswith("https://stripe.com/docs/error-codes/")


def test_the_hosted_page_is_routed_outside_v1(base_url: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(base_url + "/c/pay/cs_test_missing", timeout=5)
    assert caught.value.code == 404
