"""The customer's journeys in Chromium, end to end: pages, the sandbox's payment page, webhooks, worker, email.

Each journey runs against the seeded demo catalog (`bookdesk seed`), as a newcomer would click
through `make demo`. Screenshots of every end state: test-output/screenshots/e2e-*.png.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from email.message import Message
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from bookdesk.catalog.audio_services import audio_derive_due, beat_audio_request
from bookdesk.catalog.models import AudioStatus, Course, License, Product, Service
from bookdesk.catalog.selectors import business_today
from bookdesk.orders.models import Booking, Grant, Order, OrderStatus
from bookdesk.orders.services import ItemRequest, order_place
from bookdesk.payments.models import Payment, Refund
from chromium import fill_sign_in, pay_by_card, screenshotter, sign_in
from factories import UserFactory, verified_customer

from .conftest import Shop

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

screenshot = screenshotter("e2e")
# Seconds a beat's derivation may take in the shop's worker (a few on this machine's 2 cores, busy with tests).
DERIVE_WAIT = 60


@pytest.fixture(autouse=True)
def demo_catalog(demo_media: Any) -> None:
    call_command("seed", verbosity=0)
    # The worker would derive every seeded beat's audio in turn; a journey derives the beat it plays.
    Product.objects.filter(audio_status=AudioStatus.PENDING).update(audio_status=AudioStatus.NONE)


def derive(beat: Product) -> Product:
    """The worker's derivation of one beat (MP3, tagged preview, waveform): run here, unless the shop's worker
    (`shop.worker`, a round every 100 ms) claimed the beat first; then waited for, as a customer would."""
    beat_audio_request(product_ids=[beat.pk])
    audio_derive_due(limit=1)
    beat.refresh_from_db()
    deadline = time.monotonic() + DERIVE_WAIT
    while beat.audio_status == AudioStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.1)
        beat.refresh_from_db()
    assert beat.audio_status == AudioStatus.READY, beat.audio_error or beat.audio_status
    return beat


def course(slug: str = "mixing-fundamentals") -> Course:
    return Course.objects.get(slug=slug)


def order_of_page(page: Any) -> Order:
    session_id = re.search(r"session_id=([\w-]+)", page.url)
    assert session_id, page.url
    return Payment.objects.get(session_id=session_id[1]).order


def confirmed(shop: Shop, order: Order) -> Order:
    return shop.wait(
        lambda: Order.objects.filter(pk=order.pk, status=OrderStatus.CONFIRMED).first(), f"{order.code} confirmed"
    )


def emails_to(shop: Shop, address: str, subject_part: str) -> list[Message]:
    return [m for m in shop.mail.messages if m["To"] == address and subject_part.lower() in str(m["Subject"]).lower()]


def attachment(message: Message, content_type: str) -> bytes | None:
    for part in message.walk():
        if part.get_content_type() == content_type:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


def book_now(page: Any, shop: Shop, slug: str = "mixing-fundamentals") -> None:
    page.goto(f"{shop.url}/courses/{slug}")
    page.get_by_role("button", name="Book now").click()
    page.wait_for_url(f"{shop.sandbox.base_url}/c/pay/**")


# --- 1 --------------------------------------------------------------------------------------------


def test_1_book_a_course_pay_and_get_the_confirmation_with_its_calendar(page: Any, shop: Shop) -> None:
    sign_in(page, shop.url, "ada@example.com")
    book_now(page, shop)
    assert "Mixing Fundamentals" in page.content()
    pay_by_card(page)
    page.wait_for_url(f"{shop.url}/payment/success?session_id=*")
    order = confirmed(shop, order_of_page(page))
    assert "Your booking is confirmed" in page.locator("h1").inner_text()
    screenshot(page, "1-success")

    page.goto(f"{shop.url}/bookings")
    card = page.locator("li.booking", has_text="Mixing Fundamentals")
    assert card.get_attribute("data-status") == "confirmed"
    assert "Confirmed" in card.locator(".badge").first.inner_text()
    screenshot(page, "1-bookings")

    (message,) = shop.wait(lambda: emails_to(shop, "ada@example.com", order.code), "the confirmation email")
    calendar = attachment(message, "text/calendar")
    assert calendar is not None
    assert b"BEGIN:VEVENT" in calendar
    assert b"Mixing Fundamentals" in calendar
    assert Booking.objects.get(line__order=order).status == "confirmed"


# --- 2 --------------------------------------------------------------------------------------------


def test_2_a_mixed_cart_in_one_checkout_and_the_download_is_the_buyers_alone(
    page: Any, shop: Shop, browser: Any
) -> None:
    sign_in(page, shop.url, "grace@example.com")
    service = Service.objects.order_by("pk").first()
    assert service is not None
    day = business_today() + dt.timedelta(days=(7 - business_today().weekday()) % 7 + 1)  # a coming weekday
    page.goto(f"{shop.url}/services/{service.pk}?date={day.isoformat()}")
    page.locator(".slot-button").first.click()
    page.wait_for_selector(".message-success")
    beat = Product.objects.filter(kind=Product.Kind.DIGITAL).order_by("pk").first()
    assert beat is not None
    derive(beat)
    basic = beat.licenses.get(tier=License.Tier.BASIC)
    page.goto(f"{shop.url}/products/{beat.pk}")
    page.get_by_role("button", name=re.compile(f"Add the {basic.name}")).click()
    page.wait_for_selector(".message-success")
    page.goto(f"{shop.url}/courses/beatmaking-101")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_selector(".message-success")

    page.goto(f"{shop.url}/checkout")
    screenshot(page, "2-checkout")
    page.click("#pay-button")
    page.wait_for_url(f"{shop.sandbox.base_url}/c/pay/**")
    pay_by_card(page)
    page.wait_for_url(f"{shop.url}/payment/success?session_id=*")
    order = confirmed(shop, order_of_page(page))
    screenshot(page, "2-success")
    assert order.kind == "mixed_cart"
    assert order.lines.count() == 3

    (message,) = shop.wait(lambda: emails_to(shop, "grace@example.com", order.code), "the confirmation email")
    body = str(attachment(message, "text/plain") or b"", "utf-8")
    link = re.search(r"https?://\S+/downloads/\S+", body)  # the basic lease's first file: its MP3
    assert link, body
    download = page.request.get(link[0])
    assert download.status == 200
    assert download.body() == beat.mp3.open("rb").read()
    assert Grant.objects.get(line__order=order).download_count == 1

    stranger = browser.new_context().new_page()
    sign_in(stranger, shop.url, "mallory@example.com")
    refused = stranger.request.get(link[0])
    assert refused.status in (403, 404)
    stranger.goto(link[0])
    screenshot(stranger, "2-download-refused")
    stranger.context.close()


# --- 3 --------------------------------------------------------------------------------------------


def test_3_a_declined_card_then_a_good_one_on_the_same_page(page: Any, shop: Shop) -> None:
    sign_in(page, shop.url, "lin@example.com")
    book_now(page, shop)
    pay_url = page.url
    pay_by_card(page, "4000 0000 0000 0002")
    page.wait_for_selector("text=declined")
    screenshot(page, "3-declined")
    assert page.url.startswith(pay_url)
    pay_by_card(page)
    page.wait_for_url(f"{shop.url}/payment/success?session_id=*")
    order = confirmed(shop, order_of_page(page))
    assert order.payments.count() == 1
    screenshot(page, "3-success")


# --- 4 --------------------------------------------------------------------------------------------


def test_4_cancel_on_the_payment_page_keep_the_cart_retry_and_pay(page: Any, shop: Shop) -> None:
    sign_in(page, shop.url, "noor@example.com")
    page.goto(f"{shop.url}/courses/synth-sound-design")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_selector(".message-success")
    page.goto(f"{shop.url}/checkout")
    page.click("#pay-button")
    page.wait_for_url(f"{shop.sandbox.base_url}/c/pay/**")
    page.click("#cancel-link")
    page.wait_for_url(f"{shop.url}/payment/cancel?order=*")
    assert "Nothing was charged" in page.content()
    screenshot(page, "4-cancelled")
    page.goto(f"{shop.url}/cart")
    assert "Synth Sound Design" in page.content()

    page.goto(page.url.replace("/cart", "/checkout"))
    page.click("#pay-button")
    page.wait_for_url(f"{shop.sandbox.base_url}/c/pay/**")
    pay_by_card(page)
    page.wait_for_url(f"{shop.url}/payment/success?session_id=*")
    order = confirmed(shop, order_of_page(page))
    assert Order.objects.filter(user=order.user, status=OrderStatus.CANCELLED).count() == 1  # the replaced one
    screenshot(page, "4-success")


# --- 5 --------------------------------------------------------------------------------------------


def test_5_three_d_secure_approved_and_failed(page: Any, shop: Shop) -> None:
    sign_in(page, shop.url, "sam@example.com")
    book_now(page, shop)
    pay_by_card(page, "4000 0025 0000 3155")
    page.wait_for_url("**/3ds")
    screenshot(page, "5-challenge")
    page.click("#approve-3ds")
    page.wait_for_url(f"{shop.url}/payment/success?session_id=*")
    confirmed(shop, order_of_page(page))
    screenshot(page, "5-approved")

    book_now(page, shop, "beatmaking-101")
    pay_by_card(page, "4000 0025 0000 3155")
    page.wait_for_url("**/3ds")
    page.click("#fail-3ds")
    page.wait_for_selector("text=authenticat")
    screenshot(page, "5-failed")
    order = Payment.objects.filter(order__user__email="sam@example.com").latest("pk").order
    assert order.status == OrderStatus.PENDING
    assert Booking.objects.get(line__order=order).status == "held"


# --- 6 --------------------------------------------------------------------------------------------


def test_6_a_delayed_payment_is_processing_then_confirmed(page: Any, shop: Shop) -> None:
    sign_in(page, shop.url, "ivo@example.com")
    book_now(page, shop)
    page.check("#sepa-outcome-succeeded")
    page.fill("#sepa-delay", "2")
    page.click("#sepa-button")
    page.wait_for_url(f"{shop.url}/payment/success?session_id=*")
    assert "being processed" in page.locator("h1").inner_text()
    screenshot(page, "6-processing")
    order = order_of_page(page)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PROCESSING

    confirmed(shop, order)
    page.reload()
    assert "Your booking is confirmed" in page.locator("h1").inner_text()
    screenshot(page, "6-confirmed")


# --- 7 --------------------------------------------------------------------------------------------


def test_7_sold_out_between_cart_and_checkout_is_said_plainly_and_nothing_is_charged(page: Any, shop: Shop) -> None:
    small = course("vocal-production-masterclass")
    sign_in(page, shop.url, "kim@example.com")
    page.goto(f"{shop.url}/courses/{small.slug}")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_selector(".message-success")
    page.goto(f"{shop.url}/checkout")  # everything is still for sale as the page opens
    left = Course.objects.get(pk=small.pk).capacity - Booking.objects.filter(course=small).count()
    for n in range(left):  # others take every seat meanwhile
        rival = UserFactory(email=f"rival{n}@example.com")
        order_place(user=rival, items=[ItemRequest(kind="course", course_id=small.pk)])

    page.click("#pay-button")
    page.wait_for_selector("#checkout-error:not([hidden])")
    assert "sold out" in page.locator("#checkout-error-detail").inner_text()
    assert "Nothing was charged" in page.locator("#checkout-error").inner_text()
    screenshot(page, "7-sold-out")
    assert not Order.objects.filter(user__email="kim@example.com").exists()
    assert not Payment.objects.filter(order__user__email="kim@example.com").exists()


# --- 8 --------------------------------------------------------------------------------------------


def test_8_a_hold_that_lapses_expires_the_order_and_the_seat_sells_again(page: Any, shop: Shop) -> None:
    small = course("vocal-production-masterclass")
    sign_in(page, shop.url, "eli@example.com")
    book_now(page, shop, small.slug)
    order = Order.objects.get(user__email="eli@example.com")
    seats_before = small.capacity - Booking.objects.filter(course=small, status__in=["held", "confirmed"]).count()
    Order.objects.filter(pk=order.pk).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))

    shop.wait(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED, "the sweep to expire the order")
    page.reload()
    screenshot(page, "8-payment-page-expired")
    page.goto(f"{shop.url}/orders/{order.code}")
    assert page.locator("#order-status").inner_text() == "Expired"
    screenshot(page, "8-order-expired")
    assert shop.stripe.v1.checkout.sessions.retrieve(order.payments.get().session_id).status == "expired"
    page.goto(f"{shop.url}/courses/{small.slug}")
    seats_after = small.capacity - Booking.objects.filter(course=small, status__in=["held", "confirmed"]).count()
    assert seats_after == seats_before + 1
    screenshot(page, "8-seat-for-sale")


# --- 9 --------------------------------------------------------------------------------------------


def test_9_signed_out_mid_journey_signs_in_and_returns_to_the_cart(page: Any, shop: Shop) -> None:
    page.goto(f"{shop.url}/courses/beatmaking-101")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_selector(".message-success")
    page.goto(f"{shop.url}/checkout")
    page.wait_for_url(f"{shop.url}/accounts/login/?next=/checkout")
    screenshot(page, "9-sign-in")
    verified_customer("zoe@example.com")  # the customer signs in with an account they already have
    fill_sign_in(page, "zoe@example.com")
    page.wait_for_url(f"{shop.url}/checkout")
    assert "Beatmaking 101" in page.content()
    screenshot(page, "9-back-at-checkout")


# --- 10 -------------------------------------------------------------------------------------------


def test_10_a_customer_cancels_within_the_policy_refunded_told_seat_for_sale(page: Any, shop: Shop) -> None:
    sign_in(page, shop.url, "ria@example.com")
    book_now(page, shop)
    pay_by_card(page)
    page.wait_for_url(f"{shop.url}/payment/success?session_id=*")
    order = confirmed(shop, order_of_page(page))
    taken = Booking.objects.filter(course=course(), status__in=["held", "confirmed"]).count()

    page.goto(f"{shop.url}/bookings")
    page.locator("li.booking", has_text="Mixing Fundamentals").locator("[data-action=cancel]").click()
    # The booking is one line of its order: its Cancel cancels that line, under the course's policy.
    page.wait_for_url(f"{shop.url}/orders/{order.code}/lines/*/cancel")
    screenshot(page, "10-cancel-terms")
    page.click("#confirm-cancel")
    page.wait_for_url(f"{shop.url}/orders/{order.code}*")
    assert page.locator("#order-status").inner_text() == "Refunded"
    screenshot(page, "10-refunded")

    assert Order.objects.get(pk=order.pk).status == OrderStatus.REFUNDED
    assert Refund.objects.filter(payment__order=order).count() == 1
    shop.wait(lambda: emails_to(shop, "ria@example.com", "refund"), "the refund email")
    assert Booking.objects.filter(course=course(), status__in=["held", "confirmed"]).count() == taken - 1
