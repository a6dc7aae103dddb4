"""/bookings and /orders/<code> through Django's test client: badges, filters, paging, the next steps offered
only when they are allowed, cancelling within the policy end to end against the sandbox, the order's timeline,
its calendar file, and who may see what."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import stripe
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from bookdesk.bookings.selectors import order_actions
from bookdesk.catalog.models import Course, License, Product
from bookdesk.money import format_money
from bookdesk.orders.models import AuditEntry, Booking, HoldStatus, Order, OrderStatus
from bookdesk.payments.models import Payment, Refund
from factories import (
    DEFAULT_PASSWORD,
    CourseFactory,
    PhysicalProductFactory,
    StaffUserFactory,
    confirm,
    place,
    signed_in,
    slot,
    studio,
)
from payments.conftest import SECRET, book, deliver, pay, run_inbox, session_events

from .conftest import TRACKING_NUMBER, course_item, expire, fail, goods_item, license_item, parcel, refund, slot_item

pytestmark = pytest.mark.django_db

NOINDEX = "noindex"


def html_of(client: Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


def cards(html: str) -> list[str]:
    """The booking cards of /bookings, each as its HTML."""
    return re.findall(r'<li class="card booking".*?</li>\s*(?=<li class="card booking"|</ul>)', html, re.S)


def card_of(html: str, title: str) -> str:
    found = [card for card in cards(html) if f">{title}</h2>" in card]
    assert len(found) == 1, f"{title!r} not listed once"
    return found[0]


def badge(card: str) -> str:
    match = re.search(r'<span class="badge badge-tone-(\w+)">([^<]+)</span>', card)
    assert match
    return f"{match[1]}:{match[2]}"


def actions(card: str) -> set[str]:
    return set(re.findall(r'data-action="(\w+)"', card))


def titles(html: str) -> list[str]:
    return [re.search(r">([^<]+)</h2>", card)[1] for card in cards(html)]  # type: ignore[index]


# --- sign-in --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/bookings", "/bookings?kind=course", "/orders/BD-ABCDEF"])
def test_signed_out_visitors_are_sent_to_sign_in_and_back(client: Client, db: None, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert NOINDEX in response["X-Robots-Tag"]


def test_signing_in_brings_the_visitor_back_to_their_bookings(client: Client, ada: Any) -> None:
    confirm(place(ada, course_item(CourseFactory(title="Mixing basics"))))
    login = client.get("/bookings")["Location"]

    response = client.post(login, {"login": ada.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/bookings"
    assert "Mixing basics" in html_of(client, "/bookings")


def test_the_header_links_to_my_bookings_when_signed_in(client: Client, ada: Any) -> None:
    assert 'href="/bookings"' not in html_of(client, "/")
    assert '<a href="/bookings">My bookings</a>' in html_of(signed_in(ada), "/")


# --- /bookings ------------------------------------------------------------------------------------


@pytest.fixture
def shelf(ada: Any, bob: Any, beat: Any) -> dict[str, Order]:
    """Ada's items in every useful state, oldest first, and one of Bob's."""
    service, day = studio(days_ahead=5)
    full = CourseFactory(title="Full class", capacity=1)
    orders = {
        "confirmed": confirm(place(ada, course_item(CourseFactory(title="Mixing basics")))),
        "soon": confirm(
            place(ada, course_item(CourseFactory(title="Tomorrow", starts_at=timezone.now() + dt.timedelta(hours=20))))
        ),
        "pending": place(ada, slot_item(service, slot(day, 10))),
        "failed": fail(place(ada, course_item(CourseFactory(title="Retry me")))),
        "failed_full": fail(place(ada, course_item(full))),
        "expired": expire(place(ada, course_item(CourseFactory(title="Too late")))),
        "license": confirm(place(ada, license_item(beat, License.Tier.PREMIUM))),
        "refunded": refund(confirm(place(ada, course_item(CourseFactory(title="Given back"))))),
    }
    confirm(place(bob, course_item(full)))
    confirm(place(bob, course_item(CourseFactory(title="Bob's class"))))
    return orders


def test_bookings_page_shows_every_item_with_its_badge_and_order(ada: Any, shelf: dict[str, Order]) -> None:
    response = signed_in(ada).get("/bookings")

    assert response.status_code == 200
    assert NOINDEX in response["X-Robots-Tag"]
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "Bob's class" not in html
    assert len(cards(html)) == 8
    assert badge(card_of(html, "Mixing basics")) == "ok:Confirmed"
    assert badge(card_of(html, "Night Drive")) == "ok:Confirmed"
    assert badge(card_of(html, "Retry me")) == "off:Payment failed"
    assert badge(card_of(html, "Too late")) == "off:Expired"
    assert badge(card_of(html, "Given back")) == "off:Refunded"
    pending = next(card for card in cards(html) if 'data-kind="service"' in card)
    assert badge(pending) == "wait:Awaiting payment"
    confirmed = card_of(html, "Mixing basics")
    assert shelf["confirmed"].code in confirmed
    assert f'href="/orders/{shelf["confirmed"].code}"' in confirmed
    assert "€" in confirmed


def test_next_steps_are_offered_only_when_allowed(ada: Any, shelf: dict[str, Order]) -> None:
    html = html_of(signed_in(ada), "/bookings")

    assert actions(card_of(html, "Mixing basics")) == {"calendar", "cancel"}
    assert actions(card_of(html, "Tomorrow")) == {"calendar"}  # inside the 48-hour cutoff
    assert actions(card_of(html, "Retry me")) == {"retry"}
    assert actions(card_of(html, "Full class")) == set()  # the seat went to someone else
    assert actions(card_of(html, "Too late")) == {"retry"}  # expired, and its seat is still free
    assert actions(card_of(html, "Night Drive")) == {"download", "cancel"}  # not downloaded yet
    assert actions(card_of(html, "Given back")) == set()
    pending = next(card for card in cards(html) if 'data-kind="service"' in card)
    assert actions(pending) == {"retry"}
    assert ">Pay now</button>" in pending
    assert ">Try paying again</button>" in card_of(html, "Retry me")
    retry = card_of(html, "Retry me")
    assert 'action="/payment/retry"' in retry
    assert f'value="{shelf["failed"].code}"' in retry
    assert 'name="csrfmiddlewaretoken"' in retry


def test_filters_narrow_the_list_and_are_kept_in_the_form(ada: Any, shelf: dict[str, Order]) -> None:
    client = signed_in(ada)

    html = html_of(client, "/bookings?kind=product")
    assert titles(html) == ["Night Drive"]
    assert '<option value="product" selected>' in html
    assert "Clear filters" in html

    html = html_of(client, "/bookings?status=released")
    assert set(titles(html)) == {"Retry me", "Full class", "Too late"}

    html = html_of(client, "/bookings?upcoming=true&kind=course&status=confirmed")
    assert set(titles(html)) == {"Mixing basics", "Tomorrow"}

    html = html_of(client, "/bookings?upcoming=false")
    assert set(titles(html)) == {"Night Drive"}

    html = html_of(client, "/bookings?kind=service&status=cancelled")
    assert "Nothing matches these filters." in html


def test_a_filter_that_is_not_a_choice_is_explained_and_ignored(ada: Any, shelf: dict[str, Order]) -> None:
    html = html_of(signed_in(ada), "/bookings?status=paid&kind=course", status=400)
    assert 'id="filter-error"' in html
    assert len(cards(html)) == 6  # kind=course still applies


def test_paging_links_keep_the_filters(ada: Any) -> None:
    for n in range(23):
        confirm(place(ada, course_item(CourseFactory(title=f"Class {n:02d}"))))
    client = signed_in(ada)

    first = html_of(client, "/bookings?kind=course")
    assert len(cards(first)) == 20
    assert 'href="?kind=course&amp;page=2"' in first
    second = html_of(client, "/bookings?kind=course&page=2")
    assert titles(second) == ["Class 02", "Class 01", "Class 00"]
    assert 'href="?kind=course&amp;page=1"' in second
    beyond = html_of(client, "/bookings?page=9")
    assert "Go to the first page" in beyond
    assert len(cards(html_of(client, "/bookings?page=garbage"))) == 20
    # Digits to str.isdigit that are no number to int: the first page, not a 500.
    for digits in ("²", "%C2%B2", "١٢"):
        assert len(cards(html_of(client, f"/bookings?page={digits}"))) == 20


def test_goods_show_their_quantity_and_how_far_their_parcel_got(ada: Any, bob: Any, vinyl: Product) -> None:
    waiting = confirm(place(ada, goods_item(vinyl, 2)))
    parcel(waiting)
    sent = parcel(confirm(place(ada, goods_item(PhysicalProductFactory(title="Studio T-shirt")))), shipped=True)
    place(ada, goods_item(PhysicalProductFactory(title="Poster")))
    given_back = confirm(place(ada, goods_item(PhysicalProductFactory(title="Mug"))))
    parcel(given_back)
    refund(given_back)
    parcel(confirm(place(bob, goods_item(PhysicalProductFactory(title="Bob's shirt")))), shipped=True)

    html = html_of(signed_in(ada), "/bookings")

    assert titles(html) == ["Mug", "Poster", "Studio T-shirt", "Night Sessions LP"]
    assert "Bob's shirt" not in html
    record = card_of(html, "Night Sessions LP")
    assert '<p class="card-kicker">Goods</p>' in record
    assert (
        '<h2 class="card-title booking-title"><span class="booking-quantity">2 × </span>Night Sessions LP</h2>'
        in record
    )
    assert badge(record) == "ok:Confirmed"
    assert '<span class="badge badge-tone-wait shipment-status">To ship</span>' in record
    assert "Track the parcel" not in record
    assert "€56.00" in record
    # Goods have no calendar and no download; they can be cancelled until shipped, shipping with the last line.
    assert actions(record) == {"cancel"}
    terms = order_actions(order=waiting).line(waiting.lines.get().pk)
    assert terms is not None
    assert terms.shipping == waiting.shipping_amount > 0
    assert f"Cancel · refund {format_money(terms.total, 'eur')}</a>" in record

    shirt = card_of(html, "Studio T-shirt")
    assert '<span class="booking-quantity">1 × </span>Studio T-shirt</h2>' in shirt
    assert '<span class="badge badge-tone-ok shipment-status">Shipped</span>' in shirt
    assert f'href="{escape(sent.tracking_url)}"' in shirt
    assert f"Track the parcel (DHL {TRACKING_NUMBER})</a>" in shirt
    assert actions(shirt) == set()  # shipped: the shop takes a return, the list offers no cancel

    poster = card_of(html, "Poster")
    assert "Shipped once paid" in poster
    assert "shipment-status" not in poster
    assert actions(poster) == {"retry"}
    # Goods given back are not on their way: their order's parcel (of its other goods, if any) is not theirs.
    mug = card_of(html, "Mug")
    assert badge(mug) == "off:Refunded"
    assert "shipment-status" not in mug
    assert "Shipped once paid" not in mug


def test_goods_are_a_kind_to_filter_by_and_never_upcoming(ada: Any, vinyl: Product) -> None:
    confirm(place(ada, course_item(CourseFactory(title="Mixing basics"))))
    parcel(confirm(place(ada, goods_item(vinyl))))
    client = signed_in(ada)

    html = html_of(client, "/bookings?kind=goods")
    assert titles(html) == ["Night Sessions LP"]
    assert '<option value="goods" selected>Goods</option>' in html
    assert titles(html_of(client, "/bookings?upcoming=true")) == ["Mixing basics"]
    assert titles(html_of(client, "/bookings?upcoming=false")) == ["Night Sessions LP"]
    assert "Nothing matches these filters." in html_of(client, "/bookings?kind=goods&upcoming=true")


def test_the_order_page_shows_the_parcel_as_the_list_does(ada: Any, vinyl: Product) -> None:
    order = confirm(place(ada, goods_item(vinyl, 2)))
    shipment = parcel(order, shipped=True)

    html = html_of(signed_in(ada), f"/orders/{order.code}")

    assert '<span class="badge badge-tone-ok shipment-status" id="shipment-status">Shipped</span>' in html
    assert f'id="tracking-link">Track the parcel (DHL {TRACKING_NUMBER})</a>' in html
    assert f'href="{escape(shipment.tracking_url)}"' in html


def test_no_bookings_yet_links_to_the_catalog(ada: Any) -> None:
    html = html_of(signed_in(ada), "/bookings")
    assert "You have no bookings yet." in html
    assert "Browse the catalog" in html


# --- the order page -------------------------------------------------------------------------------


def test_order_page_shows_lines_totals_and_next_steps(ada: Any, shelf: dict[str, Order]) -> None:
    order = shelf["confirmed"]
    response = signed_in(ada).get(f"/orders/{order.code}")

    assert response.status_code == 200
    assert NOINDEX in response["X-Robots-Tag"]
    html = response.content.decode()
    assert order.lines.get().description in html
    assert 'id="order-total"' in html
    assert 'id="order-status">Confirmed<' in html
    assert set(re.findall(r'data-action="(\w+)"', html)) == {"calendar", "cancel"}
    assert "No payment has been started for this order." in html


def test_order_page_of_a_failed_payment_offers_to_pay_again(ada: Any, shelf: dict[str, Order]) -> None:
    html = html_of(signed_in(ada), f"/orders/{shelf['failed'].code}")
    assert set(re.findall(r'data-action="(\w+)"', html)) == {"retry"}
    html = html_of(signed_in(ada), f"/orders/{shelf['failed_full'].code}")
    assert "data-action" not in html


def test_the_timeline_tells_the_story_in_plain_sentences(ada: Any) -> None:
    order = expire(place(ada, course_item(CourseFactory())))
    AuditEntry.objects.create(
        actor="system", action="order.something_new", order=order, object_type="order", object_id="x"
    )
    AuditEntry.objects.create(
        actor="worker", action="order.transition_refused", order=order, object_type="order", object_id="x"
    )

    html = html_of(signed_in(ada), f"/orders/{order.code}")

    entries = re.findall(r'<li class="timeline-entry" data-event="([\w.]+)">.*?<p>([^<]+)</p>', html, re.S)
    assert entries == [
        ("order.placed", "Order placed; what you chose is held for you while you pay."),
        ("order.expired", "The time to pay ran out, so the order expired."),
        ("order.holds_released", "What the order held was given back."),
        ("order.something_new", "Order: something new."),
    ]  # the refused transition is bookkeeping, not shown to the customer


def test_someone_elses_order_is_a_readable_404_and_staff_may_look(ada: Any, bob: Any, shelf: dict[str, Order]) -> None:
    code = shelf["confirmed"].code
    for path in (f"/orders/{code}", f"/orders/{code}/calendar.ics", f"/orders/{code}/cancel"):
        response = signed_in(bob).get(path)
        assert response.status_code == 404
        assert "We could not find this order" in response.content.decode()
    assert signed_in(bob).post(f"/orders/{code}/cancel").status_code == 404
    assert html_of(signed_in(ada), "/orders/BD-NOPE22", status=404)
    assert html_of(signed_in(ada), "/orders/not-a-code", status=404)

    staff_view = html_of(signed_in(StaffUserFactory()), f"/orders/{code}")
    assert ada.email in staff_view
    assert "data-action" not in staff_view  # staff look; they act from the admin


def test_the_calendar_file_is_served_to_the_owner(ada: Any, shelf: dict[str, Order]) -> None:
    response = signed_in(ada).get(f"/orders/{shelf['confirmed'].code}/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert f'filename="{shelf["confirmed"].code}.ics"' in response["Content-Disposition"]
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n")
    assert "SUMMARY:Mixing basics" in body

    assert signed_in(ada).get(f"/orders/{shelf['license'].code}/calendar.ics").status_code == 404


# --- retrying and cancelling, against the sandbox -------------------------------------------------


def test_retry_from_the_bookings_page_opens_a_new_payment(
    ada: Any, shelf: dict[str, Order], stripe_sandbox: Any
) -> None:
    order = shelf["failed"]

    response = signed_in(ada).post("/payment/retry", {"order": order.code, "next": "/bookings"})

    assert response.status_code == 303
    payment = Payment.objects.get(order=order)
    assert response["Location"] == payment.checkout_url
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert Booking.objects.get(line__order=order).status == HoldStatus.HELD


@pytest.fixture
def paid_booking(ada: Any, stripe_client: stripe.StripeClient, settings: Any) -> Order:
    """A course seat booked through the API, paid on the sandbox and confirmed through signed webhooks."""
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    client = signed_in(ada)
    answer = book(client, CourseFactory(title="Mastering", price_amount=12000, capacity=4).pk)
    pay(stripe_client, answer["session_id"])
    for event in session_events(stripe_client, answer["session_id"]):
        assert deliver(event).status_code == 200
    run_inbox()
    order = Order.objects.get(code=answer["order"]["code"])
    assert order.status == OrderStatus.CONFIRMED
    return order


def test_cancel_within_the_policy_refunds_through_stripe(
    ada: Any, paid_booking: Order, stripe_client: stripe.StripeClient, settings: Any
) -> None:
    settings.CANCELLATION_REFUND_PERCENT = 100
    client = signed_in(ada)
    code = paid_booking.code
    card = card_of(html_of(client, "/bookings"), "Mastering")
    assert actions(card) == {"calendar", "cancel"}
    detail = html_of(client, f"/orders/{code}")
    assert re.search(r'<tr id="payment-1">.*?Paid.*?€120\.00', detail, re.S)

    confirm_page = html_of(client, f"/orders/{code}/cancel")
    assert "Cancel and refund €120.00" in confirm_page
    response = client.post(f"/orders/{code}/cancel")

    assert response.status_code == 303
    assert response["Location"] == f"/orders/{code}"
    paid_booking.refresh_from_db()
    assert paid_booking.status == OrderStatus.REFUNDED
    assert paid_booking.amount_refunded == 12000
    refund_row = Refund.objects.get(payment__order=paid_booking)
    assert stripe_client.v1.refunds.retrieve(refund_row.stripe_refund_id).amount == 12000
    assert Booking.objects.get(line__order=paid_booking).status == HoldStatus.CANCELLED

    after = html_of(client, f"/orders/{code}")
    assert "Cancelled: Mastering" in after
    assert "€120.00 is being refunded" in after
    assert 'id="order-refunded">−€120.00<' in after
    assert "Refund of €120.00 issued." in after
    assert "Order confirmed." in after
    assert "Payment received." in after
    assert "data-action" not in after
    assert badge(card_of(html_of(client, "/bookings"), "Mastering")) == "off:Refunded"


def test_cancel_after_the_cutoff_is_refused_and_changes_nothing(
    ada: Any, paid_booking: Order, stripe_client: stripe.StripeClient
) -> None:
    Course.objects.filter(pk=paid_booking.lines.get().course_id).update(
        starts_at=timezone.now() + dt.timedelta(hours=3)
    )
    client = signed_in(ada)
    assert "This order cannot be cancelled" in html_of(client, f"/orders/{paid_booking.code}/cancel")

    response = client.post(f"/orders/{paid_booking.code}/cancel")

    assert response.status_code == 303
    assert "Cancellation closed 48 hours before the start." in html_of(client, response["Location"])
    paid_booking.refresh_from_db()
    assert paid_booking.status == OrderStatus.CONFIRMED
    assert not Refund.objects.exists()
