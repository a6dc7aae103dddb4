"""The operator's morning in real Chromium: sign in, the agenda, a studio's week, a course's roster with a
check-in, the attention page replaying a dead event (the payload the sandbox delivered), a late parcel sent from
the shipping desk with its tracking number, the sales chart and the health page. Each page is saved at 1280 px
and 390 px as test-output/screenshots/console-*.png."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import stripe
from django.utils import timezone

from bookdesk.catalog.selectors import business_today
from bookdesk.notifications.models import OutgoingEmail
from bookdesk.orders.models import Booking, Order, OrderStatus, ShipmentStatus
from bookdesk.orders.services import ItemRequest
from bookdesk.payments.models import Payment, WebhookEvent
from chromium import fill_sign_in, requires_chromium, screenshotter
from factories import (
    CourseFactory,
    OpeningHoursFactory,
    PhysicalProductFactory,
    ResourceFactory,
    ServiceFactory,
    UserFactory,
    confirm,
    place,
    signed_in,
    slot,
    verified_customer,
)
from payments.conftest import SECRET, book, deliver, pay, session_events

from .conftest import OPERATOR_PERMISSIONS, course_today, goods_shipment, grant, local, seat_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), requires_chromium]

screenshot = screenshotter("console")


def _both_widths(page: Any, name: str) -> None:
    screenshot(page, f"{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    screenshot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert overflow <= 0, f"{name} scrolls sideways at 390 px by {overflow} px"


def _studio_week() -> Any:
    """Studio A open 09:00–18:00 every day; two sessions booked tomorrow and one held (unpaid) after them."""
    studio = ResourceFactory(name="Studio A")
    for weekday in range(7):
        OpeningHoursFactory(resource=studio, weekday=weekday, opens_at=dt.time(9), closes_at=dt.time(18))
    service = ServiceFactory(name="Mixing session", resources=[studio])
    tomorrow = business_today() + dt.timedelta(days=1)
    for hour, name in ((10, "Nina Simone"), (14, "Quincy Jones")):
        first, last = name.split()
        item = ItemRequest(kind="service", service_id=service.pk, starts_at=slot(tomorrow, hour))
        confirm(place(UserFactory(first_name=first, last_name=last), item))
    held = ItemRequest(kind="service", service_id=service.pk, starts_at=slot(tomorrow, 16))
    place(UserFactory(first_name="Ray", last_name="Charles"), held)
    return studio


def _a_month_of_payments() -> None:
    """Paid, failed and abandoned attempts over the last 30 days, for the sales chart."""
    today = business_today()
    course = CourseFactory(title="Songwriting weekend", capacity=200, price_amount=14900)
    for n in range(40):
        order = seat_order(course)
        day = today - dt.timedelta(days=(n * 7) % 29)
        status = "paid" if n % 6 else ("failed" if n % 12 else "expired")
        payment = Payment.objects.create(
            order=order,
            attempt=1,
            session_id=f"cs_test_month_{n}",
            payment_intent_id=f"pi_month_{n}",
            status=status,
            amount=order.total_amount,
            amount_received=order.total_amount if status == "paid" else 0,
            currency="eur",
            expires_at=timezone.now(),
        )
        Payment.objects.filter(pk=payment.pk).update(created_at=local(day, 11))


def test_an_operator_runs_the_morning_from_the_console(
    browser: Any, live_server: Any, stripe_client: stripe.StripeClient, settings: Any
) -> None:
    settings.SITE_URL = live_server.url
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    base = str(live_server.url)
    operator = grant(verified_customer("olga@studio.example"), *OPERATOR_PERMISSIONS)
    operator.is_staff, operator.first_name, operator.last_name = True, "Olga", "Owner"
    operator.save()
    course = course_today(title="Vocal workshop", location="Room 2", capacity=8)
    ada = seat_order(course, UserFactory(first_name="Ada", last_name="King", email="ada.king@example.com"))
    seat_order(course, UserFactory(first_name="Ben", last_name="Okri", email="ben@example.com"))
    seat_order(course, UserFactory(first_name="Cleo", last_name="Laine", email="cleo@example.com"), status="pending")
    studio = _studio_week()
    _a_month_of_payments()
    # A paid booking whose webhook died: the payload the sandbox delivered, dead after every attempt.
    answer = book(signed_in(UserFactory(email="late@example.com")), CourseFactory(title="Mastering basics").pk)
    pay(stripe_client, answer["session_id"])
    completed = next(e for e in session_events(stripe_client, answer["session_id"]) if e["type"].endswith("completed"))
    assert deliver(completed).status_code == 200
    WebhookEvent.objects.filter(stripe_id=completed["id"]).update(
        status="dead", attempts=8, last_error="OperationalError: could not connect to server"
    )
    stuck = Order.objects.get(code=answer["order"]["code"])
    OutgoingEmail.objects.create(
        key="order:BD-TEST:confirmation", to="ben@example.com", subject="Your booking is confirmed",
        text_body="…", status="dead", attempts=8, last_error="SMTPRecipientsRefused: mailbox full",
    )  # fmt: skip
    records = PhysicalProductFactory(title="Night Sessions LP", stock=10)
    late_parcel = goods_shipment(records, paid_hours_ago=60)
    goods_shipment(PhysicalProductFactory(title="Studio T-shirt, black, size M", stock=10), paid_hours_ago=2)
    disputed = seat_order(CourseFactory(title="Beat making"))
    Order.objects.filter(pk=disputed.pk).update(
        status=OrderStatus.NEEDS_REVIEW, review_reason="dispute du_1Qx: fraudulent"
    )

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{base}/console/")
    fill_sign_in(page, operator.email)
    page.wait_for_url(f"{base}/console/")

    # The agenda: today's course with its seats, tomorrow's sessions.
    row = page.locator("tr", has_text="Vocal workshop")
    assert "2 / 8" in row.inner_text()
    assert "Nina Simone" in page.locator(".agenda-day").nth(1).inner_text()
    assert "Europe/Berlin" in page.locator(".console-head").inner_text()
    _both_widths(page, "agenda")

    # The studio's week: booked, held (may lapse) and free time; the next week and back.
    page.locator("a", has_text="Studio A").first.click()
    page.wait_for_url(f"{base}/console/calendar?resource={studio.pk}*")
    assert page.locator(".day-grid .block-booked").count() == 2
    assert page.locator(".day-grid .block-held").count() == 1
    assert "held until" in page.locator(".day-grid .block-held").inner_text()
    _both_widths(page, "calendar")
    page.click("a[rel=next]")
    page.wait_for_url("**week=*")
    page.click("a[rel=prev]")
    page.locator(".day-grid .block-booked").first.wait_for()

    # The roster: check Ada in.
    page.goto(f"{base}/console/")
    page.locator("tr", has_text="Vocal workshop").get_by_role("link", name="Roster").click()
    page.wait_for_url(f"{base}/console/courses/{course.pk}/roster")
    page.get_by_role("button", name="Check in Ada King").click()
    page.wait_for_url(f"{base}/console/courses/{course.pk}/roster*")
    assert "Ada King checked in." in page.locator(".messages").inner_text()
    assert page.locator(f"#seat-{Booking.objects.get(line__order=ada).pk} .checked").count() == 1
    _both_widths(page, "roster")

    # Attention: replay the dead event; the stuck order is confirmed.
    page.get_by_role("link", name="Attention").click()
    page.wait_for_url(f"{base}/console/attention")
    _both_widths(page, "attention")
    page.locator("article", has_text=completed["id"]).get_by_role("button", name="Replay").click()
    page.wait_for_url(f"{base}/console/attention")
    assert "Event replayed: processed." in page.locator(".messages").inner_text()
    stuck.refresh_from_db()
    assert stuck.status == OrderStatus.CONFIRMED
    assert page.locator("article", has_text=completed["id"]).count() == 0

    # Shipping: the parcel late on the attention page, sent from the desk with its tracking number.
    page.locator(f"#shipment-{late_parcel.pk}").get_by_role("link", name="Ship it").click()
    page.wait_for_url(f"{base}/console/shipping#shipment-{late_parcel.pk}")
    parcel = page.locator(f"#shipment-{late_parcel.pk}")
    assert "1 × Night Sessions LP" in parcel.inner_text()
    assert "Waiting 2 d 12 h" in parcel.inner_text()
    _both_widths(page, "shipping")
    parcel.get_by_label("Carrier").select_option("dhl")
    parcel.get_by_label("Tracking number").fill("00340434161094042557")
    parcel.get_by_role("button", name="Mark shipped").click()
    page.wait_for_url(f"{base}/console/shipping#shipment-{late_parcel.pk}")
    assert "shipped with DHL; the customer was emailed the tracking link." in page.locator(".messages").inner_text()
    assert "DHL 00340434161094042557" in page.locator("#on-the-way").inner_text()
    late_parcel.refresh_from_db()
    assert late_parcel.status == ShipmentStatus.SHIPPED
    screenshot(page, "shipping-sent-1280")

    # Sales: the chart drawn on the server, with the numbers beside it.
    page.get_by_role("link", name="Sales").click()
    page.wait_for_url(f"{base}/console/sales")
    assert page.locator("#chart-money-title").count() == 1
    assert page.locator("svg rect.series-revenue").count() >= 5
    _both_widths(page, "sales")
    # On a phone the numbers scroll sideways in their own box, each row keeping its day in view.
    page.set_viewport_size({"width": 390, "height": 844})
    numbers = page.locator(".sales-numbers .table-scroll")
    numbers.scroll_into_view_if_needed()
    assert numbers.evaluate("box => { box.scrollLeft = box.scrollWidth; return box.scrollLeft; }") > 0
    first_day = page.locator(".numbers tbody th").first.bounding_box()
    assert abs(first_day["x"] - numbers.bounding_box()["x"]) < 2  # still at the box's left edge
    screenshot(page, "sales-numbers-scrolled-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Health").click()
    page.wait_for_url(f"{base}/console/health")
    _both_widths(page, "health")
    assert problems == []
    page.context.close()
