"""Checkout Sessions: create, validate, retrieve with expand, list, expire, line items."""

from __future__ import annotations

import time

import pytest
import stripe

from .conftest import create_session, pay


def test_create_returns_an_open_session_with_a_hosted_url(client: stripe.StripeClient, base_url: str) -> None:
    session = create_session(client)
    assert session.object == "checkout.session"
    assert session.status == "open"
    assert session.payment_status == "unpaid"
    assert session.url == f"{base_url}/c/pay/{session.id}"
    assert session.amount_total == 2 * 2500 + 900
    assert session.currency == "eur"
    assert session.client_reference_id == "BK-1001"
    assert session.customer_email == "ada@example.com"
    assert session.metadata.to_dict() == {"order": "BK-1001", "user": "7"}
    assert session.payment_method_types == ["card", "sepa_debit"]  # a eur session without types: both
    assert session.payment_intent is None
    assert session.expires_at - session.created == 24 * 3600


def test_retrieve_expands_line_items_and_payment_intent(client: stripe.StripeClient) -> None:
    session = create_session(client)
    pay(client, session.id, "pm_card_visa")
    found = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items", "payment_intent"]})
    items = found.line_items
    assert items.object == "list"
    assert [item.description for item in items.data] == ["Pottery course", "Clay"]
    assert [item.quantity for item in items.data] == [2, 1]
    assert items.data[0].amount_total == 5000
    assert items.data[0].price.unit_amount == 2500
    assert found.payment_intent.object == "payment_intent"
    assert found.payment_intent.status == "succeeded"


def test_nested_expand_reaches_the_charge(client: stripe.StripeClient) -> None:
    session = create_session(client)
    pay(client, session.id, "pm_card_visa")
    found = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent.latest_charge"]})
    assert found.payment_intent.latest_charge.object == "charge"


def test_line_items_endpoint_paginates(client: stripe.StripeClient) -> None:
    session = create_session(client)
    first = client.v1.checkout.sessions.line_items.list(session.id, params={"limit": 1})
    assert len(first.data) == 1
    assert first.has_more is True
    rest = client.v1.checkout.sessions.line_items.list(session.id, params={"starting_after": first.data[0].id})
    assert [item.description for item in rest.data] == ["Clay"]
    assert rest.has_more is False


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        ({"metadata": {"k" * 41: "v"}}, "metadata[" + "k" * 41 + "]"),
        ({"metadata": {"order": "v" * 501}}, "metadata[order]"),
        ({"expires_at": int(time.time()) + 600}, "expires_at"),
        ({"expires_at": int(time.time()) + 25 * 3600}, "expires_at"),
        ({"mode": "subscription"}, "mode"),
        ({"line_items": []}, "line_items"),
        ({"success_url": "not a url"}, "success_url"),
        ({"customer_email": "nobody"}, "customer_email"),
        ({"payment_method_types": ["card", "cheque"]}, "payment_method_types[1]"),
        (
            {"line_items": [{"price_data": {"currency": "eur", "product_data": {"name": "X"}}, "quantity": 1}]},
            "line_items[0][price_data][unit_amount]",
        ),
        (
            {"line_items": [{"price_data": {"currency": "eur", "unit_amount": 5, "product_data": {}}, "quantity": 1}]},
            "line_items[0][price_data][product_data]",
        ),
        (
            {"line_items": [{"price_data": {"currency": "eur", "unit_amount": 5, "product_data": {"name": "X"}}}]},
            "line_items[0][quantity]",
        ),
        ({"line_items": [{"price": "price_123", "quantity": 1}]}, "line_items[0][price]"),
    ],
)
def test_invalid_input_names_the_parameter_and_creates_nothing(
    client: stripe.StripeClient, overrides: dict[str, object], param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        create_session(client, **overrides)
    assert caught.value.http_status == 400
    assert caught.value.param == param
    assert client.v1.checkout.sessions.list().data == []


def test_metadata_at_stripes_limits_is_accepted(client: stripe.StripeClient) -> None:
    metadata = {f"{i:02d}" + "k" * 38: "v" * 500 for i in range(50)}
    session = create_session(client, metadata=metadata)
    assert len(session.metadata.to_dict()) == 50


def test_expires_at_between_30_minutes_and_24_hours_is_accepted(client: stripe.StripeClient) -> None:
    expires_at = int(time.time()) + 1800
    assert create_session(client, expires_at=expires_at).expires_at == expires_at
    assert create_session(client, expires_at=int(time.time()) + 24 * 3600 - 5).status == "open"


def test_list_filters_and_paginates_newest_first(client: stripe.StripeClient) -> None:
    sessions = [create_session(client, customer_email=f"c{i}@example.com") for i in range(5)]
    paid = pay(client, sessions[1].id, "pm_card_visa")
    client.v1.checkout.sessions.expire(sessions[2].id)

    everything = client.v1.checkout.sessions.list()
    assert [s.id for s in everything.data] == [s.id for s in reversed(sessions)]
    assert [s.id for s in client.v1.checkout.sessions.list(params={"status": "expired"}).data] == [sessions[2].id]
    by_intent = client.v1.checkout.sessions.list(params={"payment_intent": paid.payment_intent})  # type: ignore[typeddict-item]
    assert [s.id for s in by_intent.data] == [sessions[1].id]
    by_email = client.v1.checkout.sessions.list(params={"customer_details": {"email": "c1@example.com"}})
    assert [s.id for s in by_email.data] == [sessions[1].id]
    created = client.v1.checkout.sessions.list(params={"created": {"gte": sessions[0].created}})
    assert len(created.data) == 5
    assert client.v1.checkout.sessions.list(params={"created": {"lt": sessions[0].created}}).data == []

    page = client.v1.checkout.sessions.list(params={"limit": 2})
    assert page.has_more is True
    after = client.v1.checkout.sessions.list(params={"limit": 2, "starting_after": page.data[-1].id})
    assert [s.id for s in after.data] == [sessions[2].id, sessions[1].id]
    before = client.v1.checkout.sessions.list(params={"limit": 2, "ending_before": after.data[0].id})
    assert [s.id for s in before.data] == [s.id for s in page.data]
    assert before.has_more is False
    every = [s.id for s in client.v1.checkout.sessions.list(params={"limit": 2}).auto_paging_iter()]
    assert every == [s.id for s in reversed(sessions)]


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
def test_every_page_forwards_and_backwards_is_a_slice_of_the_whole_filtered_list(
    client: stripe.StripeClient, limit: int
) -> None:
    sessions = [create_session(client, client_reference_id="AB"[i % 3 == 0]) for i in range(9)]
    for session in sessions[::4]:
        client.v1.checkout.sessions.expire(session.id)

    for filters in ({}, {"client_reference_id": "A"}, {"client_reference_id": "B"}, {"status": "open"}):
        whole = [s.id for s in client.v1.checkout.sessions.list(params={**filters, "limit": 100}).data]
        assert len(whole) >= 3
        forwards, cursor, more = [], None, True
        while more:
            page = client.v1.checkout.sessions.list(
                params={**filters, "limit": limit, **({"starting_after": cursor} if cursor else {})}  # type: ignore[typeddict-item]
            )
            start = whole.index(cursor) + 1 if cursor else 0
            assert [s.id for s in page.data] == whole[start : start + limit]
            assert page.has_more is (len(whole) > start + limit)
            forwards += [s.id for s in page.data]
            cursor, more = page.data[-1].id if page.data else None, page.has_more
        assert forwards == whole
        for end in range(len(whole)):
            page = client.v1.checkout.sessions.list(params={**filters, "limit": limit, "ending_before": whole[end]})  # type: ignore[typeddict-item]
            assert [s.id for s in page.data] == whole[max(0, end - limit) : end]
            assert page.has_more is (end > limit)


def test_a_cursor_outside_the_filtered_list_is_no_such_object(client: stripe.StripeClient) -> None:
    first, second = create_session(client, client_reference_id="A"), create_session(client, client_reference_id="B")
    for cursor in ("starting_after", "ending_before"):
        for params in (
            {"client_reference_id": "A", cursor: second.id},
            {"created": {"lt": first.created}, cursor: first.id},
            {cursor: "cs_test_missing"},
        ):
            with pytest.raises(stripe.InvalidRequestError) as caught:
                client.v1.checkout.sessions.list(params=params)  # type: ignore[arg-type]
            assert caught.value.code == "resource_missing"
            assert caught.value.param == cursor
    with pytest.raises(stripe.InvalidRequestError) as caught:  # another kind's id is no cursor either
        client.v1.payment_intents.list(params={"starting_after": first.id})
    assert caught.value.code == "resource_missing"


def test_limit_out_of_range_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.list(params={"limit": 101})
    assert caught.value.param == "limit"


def test_expire_only_an_open_session(client: stripe.StripeClient) -> None:
    session = create_session(client)
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    assert expired.url is None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)
    paid = create_session(client)
    pay(client, paid.id, "pm_card_visa")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(paid.id)
    types = [event.type for event in client.v1.events.list().data]
    assert types.count("checkout.session.expired") == 1


def test_an_unknown_session_is_a_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert caught.value.http_status == 404
