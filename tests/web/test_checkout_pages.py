"""Cart and checkout pages through Django's test client: add to the cart (visitor and customer), the merge
at sign-in through the real login form, readable refusals that change nothing, /cart numbers, /checkout's
form POST to the sandbox, the success and cancel pages, "Try again", and Book now."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import stripe
from django.conf import settings
from django.test import Client
from django.utils import timezone

from bookdesk.cart.models import Cart, CartItem
from bookdesk.catalog.models import License
from bookdesk.catalog.selectors import business_today
from bookdesk.orders.audit import audit
from bookdesk.orders.models import Order, OrderStatus
from bookdesk.orders.services import ItemRequest, order_place
from bookdesk.payments.models import Invoice, Payment
from factories import DEFAULT_PASSWORD, CourseFactory, StaffUserFactory, UserFactory, signed_in, verified_customer

pytestmark = pytest.mark.django_db

NOINDEX = "noindex"


# --- helpers --------------------------------------------------------------------------------------


def log_in(client: Client, email: str) -> Any:
    """The real allauth login form."""
    response = client.post("/accounts/login/", {"login": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content
    return response


def slot_start(days_ahead: int = 7, hour: int = 10) -> dt.datetime:
    """A free slot of the catalog's studio (open 10:00–18:00 business time, two-hour sessions), in UTC."""
    day = business_today() + dt.timedelta(days=days_ahead)
    local = dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(settings.BOOKDESK_TIME_ZONE))
    return local.astimezone(dt.UTC)


def license_of(product: Any, tier: str = License.Tier.BASIC) -> License:
    return License.objects.get(product=product, tier=tier)


def add(client: Client, **fields: Any) -> Any:
    return client.post("/cart/items", {key: str(value) for key, value in fields.items()})


def add_course(client: Client, course: Any, **extra: Any) -> Any:
    return add(client, kind="course", course_id=course.pk, **extra)


def add_slot(client: Client, service: Any, starts_at: dt.datetime) -> Any:
    return add(client, kind="service", service_id=service.pk, starts_at=starts_at.isoformat())


def add_license(client: Client, product: Any, tier: str = License.Tier.BASIC) -> Any:
    return add(client, kind="product", product_id=product.pk, license_id=license_of(product, tier).pk)


def messages_on(client: Client, path: str = "/cart") -> list[str]:
    """The flash messages the next page shows (and thereby consumes)."""
    html = client.get(path).content.decode()
    return [re.sub(r"<[^>]+>", "", m).strip() for m in re.findall(r'<li class="message[^"]*">(.*?)</li>', html, re.S)]


def fill_course(course: Any) -> None:
    """Other customers take every seat left (real orders, real holds)."""
    for _ in range(course.capacity - course.bookings.count()):
        order_place(user=UserFactory(), items=[ItemRequest(kind="course", course_id=course.pk)])


def fill_cart(client: Client, catalog: Any) -> None:
    assert add_course(client, catalog.course).status_code == 303
    assert add_license(client, catalog.beat).status_code == 303
    assert add_slot(client, catalog.service, slot_start()).status_code == 303


def session_of(stripe_client: stripe.StripeClient, session_id: str) -> Any:
    return stripe_client.v1.checkout.sessions.retrieve(session_id)


def pay_in_sandbox(stripe_client: stripe.StripeClient, session_id: str) -> None:
    stripe_client.raw_request(
        "post", f"/v1/test_helpers/checkout/sessions/{session_id}/pay", payment_method="pm_card_visa"
    )


def checked_out(client: Client) -> Payment:
    response = client.post("/checkout")
    assert response.status_code == 303, response.content
    payment = Payment.objects.select_related("order").get(checkout_url=response["Location"])
    return payment


# --- adding to the cart ---------------------------------------------------------------------------


def test_visitor_adds_a_course_to_a_session_cart_and_goes_back_to_the_page(client: Client, catalog: Any) -> None:
    page = f"/courses/{catalog.course.slug}"
    html = client.get(page).content.decode()
    assert 'action="/cart/items"' in html
    assert "Add to cart" in html

    response = add_course(client, catalog.course, next=page)

    assert response.status_code == 303
    assert response["Location"] == page
    cart = Cart.objects.get()
    assert cart.user is None
    assert cart.session_key
    assert list(cart.items.values_list("course_id", flat=True)) == [catalog.course.pk]
    html = client.get(page).content.decode()
    assert "Added to your cart: Mixing basics." in html
    assert 'aria-label="Cart, 1 item"' in html


def test_service_page_offers_each_free_slot_and_product_page_each_license(client: Client, catalog: Any) -> None:
    day = business_today() + dt.timedelta(days=7)
    html = client.get(f"/services/{catalog.service.pk}", {"date": day.isoformat()}).content.decode()
    assert html.count('name="kind" value="service"') == 4
    assert f'name="starts_at" value="{slot_start().isoformat()}"' in html

    html = client.get(f"/products/{catalog.beat.pk}").content.decode()
    for tier in License.Tier:
        assert f'name="license_id" value="{license_of(catalog.beat, tier).pk}"' in html
    html = client.get(f"/products/{catalog.merch.pk}").content.decode()
    assert 'name="quantity"' in html


def test_sold_license_tiers_have_no_add_button(client: Client, catalog: Any) -> None:
    exclusive = license_of(catalog.beat, License.Tier.EXCLUSIVE)
    order_place(
        user=UserFactory(), items=[ItemRequest(kind="product", product_id=catalog.beat.pk, license_id=exclusive.pk)]
    )
    html = client.get(f"/products/{catalog.beat.pk}").content.decode()
    assert 'name="license_id"' not in html


def test_customer_adds_a_course_a_slot_and_a_license(catalog: Any) -> None:
    user = verified_customer()
    client = signed_in(user)

    fill_cart(client, catalog)

    cart = Cart.objects.get(user=user)
    assert sorted(cart.items.values_list("kind", flat=True)) == ["course", "product", "service"]
    assert cart.items.get(kind="service").starts_at == slot_start()
    assert 'aria-label="Cart, 3 items"' in client.get("/").content.decode()


def test_add_to_cart_form_needs_the_csrf_token(catalog: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert add_course(client, catalog.course).status_code == 403
    assert not CartItem.objects.exists()

    client.get(f"/courses/{catalog.course.slug}")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = add(client, kind="course", course_id=catalog.course.pk, csrfmiddlewaretoken=token)
    assert response.status_code == 303
    assert CartItem.objects.count() == 1


def test_session_cart_joins_the_customers_cart_at_sign_in(client: Client, catalog: Any) -> None:
    user = verified_customer()
    add_slot(signed_in(user), catalog.service, slot_start(hour=12))
    add_course(client, catalog.course)
    add_license(client, catalog.beat)
    assert Cart.objects.filter(user=None).count() == 1

    log_in(client, user.email)

    assert not Cart.objects.filter(user=None).exists()
    cart = Cart.objects.get(user=user)
    assert sorted(cart.items.values_list("kind", flat=True)) == ["course", "product", "service"]
    html = client.get("/cart").content.decode()
    for title in ("Mixing basics", "Night Drive — Basic lease", "Recording session"):
        assert title in html


def test_signing_in_from_checkout_comes_back_to_checkout_with_the_cart(client: Client, catalog: Any) -> None:
    user = verified_customer()
    add_course(client, catalog.course)

    response = client.get("/checkout")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/checkout"

    response = client.post("/accounts/login/?next=/checkout", {"login": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/checkout"
    html = client.get("/checkout").content.decode()
    assert "Mixing basics" in html
    assert "Proceed to payment" in html


BAD_FORMS = [
    ({}, "We could not tell what to add"),
    ({"kind": "ticket", "course_id": "1"}, "We could not tell what to add"),
    ({"kind": "course"}, "We could not tell what to add"),
    ({"kind": "course", "course_id": "abc"}, "We could not tell what to add"),
    ({"kind": "course", "course_id": "-1"}, "We could not tell what to add"),
    ({"kind": "course", "course_id": "9" * 40}, "We could not tell what to add"),
    ({"kind": "course", "course_id": "999999"}, "Course not found."),
    ({"kind": "service", "service_id": "{service}"}, "Choose a time slot."),
    ({"kind": "service", "service_id": "{service}", "starts_at": "tomorrow at ten"}, "not a time we can read"),
    ({"kind": "service", "service_id": "{service}", "starts_at": "2031-02-30T10:00:00+00:00"}, "not a time we can"),
    ({"kind": "service", "service_id": "{service}", "starts_at": "{naive}"}, "has no time zone"),
    ({"kind": "service", "service_id": "{service}", "starts_at": "{night}"}, "is not free"),
    ({"kind": "product", "product_id": "{beat}"}, "Choose a license tier"),
    ({"kind": "product", "product_id": "{beat}", "license_id": "x'"}, "We could not tell what to add"),
    ({"kind": "product", "product_id": "{merch}", "quantity": "0"}, "quantity of at least 1"),
    ({"kind": "product", "product_id": "{merch}", "quantity": "lots"}, "quantity of at least 1"),
    ({"kind": "product", "product_id": "{merch}", "quantity": "11"}, "Quantity must be between 1 and 10"),
]


@pytest.mark.parametrize(("form", "message"), BAD_FORMS)
def test_bad_form_input_is_a_readable_message_and_changes_nothing(
    client: Client, catalog: Any, form: dict[str, str], message: str
) -> None:
    values = {
        "service": str(catalog.service.pk),
        "beat": str(catalog.beat.pk),
        "merch": str(catalog.merch.pk),
        "naive": slot_start().replace(tzinfo=None).isoformat(),
        "night": slot_start(hour=3).isoformat(),
    }
    fields = {key: value.format(**values) for key, value in form.items()}

    response = client.post("/cart/items", fields)

    assert response.status_code == 303
    (shown,) = messages_on(client)
    assert message in shown
    assert not Cart.objects.exists()
    assert not CartItem.objects.exists()


def test_refusals_in_a_cart_change_nothing_in_it(catalog: Any) -> None:
    user = verified_customer()
    client = signed_in(user)
    add_course(client, catalog.course)
    messages_on(client)
    dollar_course = CourseFactory(currency="usd")
    full_course = CourseFactory(title="Tiny class", capacity=1)
    fill_course(full_course)

    cases = [
        (catalog.course, "This is already in your cart."),
        (full_course, "“Tiny class” is sold out."),
        (dollar_course, "same currency"),
        (catalog.past_course, "has already started"),
    ]

    for course, message in cases:
        assert add_course(client, course).status_code == 303
        (shown,) = messages_on(client)
        assert message in shown
    assert list(CartItem.objects.values_list("course_id", flat=True)) == [catalog.course.pk]


def test_a_taken_slot_is_refused(catalog: Any) -> None:
    starts_at = slot_start()
    order_place(
        user=UserFactory(), items=[ItemRequest(kind="service", service_id=catalog.service.pk, starts_at=starts_at)]
    )
    client = signed_in(verified_customer())

    add_slot(client, catalog.service, starts_at)

    (shown,) = messages_on(client)
    assert "is not free" in shown
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("raw", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T10:00:00+00:00"])
def test_a_slot_out_of_any_calendar_is_refused_with_a_message(catalog: Any, raw: str) -> None:
    """A date no clock can convert (or far beyond the booking horizon) is a message, never a 500."""
    client = signed_in(verified_customer())
    response = client.post(
        "/cart/items", {"kind": "service", "service_id": catalog.service.pk, "starts_at": raw}, follow=True
    )
    assert response.status_code in (200, 400)
    shown = " ".join(messages_on(client)) or response.content.decode()
    assert "time" in shown.lower()
    assert not CartItem.objects.exists()


def test_next_pointing_elsewhere_is_ignored(client: Client, catalog: Any) -> None:
    response = add_course(client, catalog.course, next="https://evil.example/steal")
    assert response["Location"] == "/cart"


# --- the cart page --------------------------------------------------------------------------------


def test_empty_cart_links_to_the_catalog(client: Client, db: None) -> None:
    response = client.get("/cart")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your cart is empty." in html
    assert 'href="/">Browse the catalog' in html
    assert 'aria-label="Cart, 0 items"' in html
    assert NOINDEX in response["X-Robots-Tag"]
    assert "no-store" in response["Cache-Control"]
    assert not Cart.objects.exists()  # looking does not create a cart


def test_cart_page_shows_lines_and_the_breakdown_with_tax_included(client: Client, catalog: Any) -> None:
    add_course(client, catalog.course)  # 149.00
    add_license(client, catalog.beat)  # 29.99
    add(client, kind="product", product_id=catalog.merch.pk, quantity=2)  # 2 × 25.00, ships
    messages_on(client)

    html = client.get("/cart").content.decode()

    assert "Course seat" in html
    assert "Mixing basics" in html
    assert "Night Drive — Basic lease" in html
    assert "Studio T-shirt" in html
    assert "€25.00" in html
    assert "€50.00" in html
    # 228.99 including 19 % tax, taxed per line: 23.79 + 4.79 + 7.98; flat shipping 4.90 holds 0.78 of tax.
    assert 'data-amount="subtotal">€228.99<' in html
    assert "Tax (19%, incl.)" in html
    assert 'data-amount="tax">€37.34<' in html
    assert 'data-amount="shipping">€4.90<' in html
    assert 'data-amount="total">€233.89<' in html
    assert 'href="/checkout">Check out</a>' in html
    assert "You sign in at the next step" in html


def test_cart_page_adds_tax_on_top_when_prices_exclude_it(client: Client, catalog: Any, settings: Any) -> None:
    settings.PRICES_INCLUDE_TAX = False
    add_course(client, catalog.course)

    html = client.get("/cart").content.decode()

    assert "Tax (19%)" in html
    assert 'data-amount="tax">€28.31<' in html  # 19 % of 149.00, rounded half up
    assert 'data-amount="shipping">None<' in html
    assert 'data-amount="total">€177.31<' in html


def test_an_item_that_cannot_be_bought_is_flagged_and_blocks_check_out(client: Client, catalog: Any) -> None:
    course = CourseFactory(title="Tiny class", capacity=1)
    add_course(client, course)
    add_course(client, catalog.course)
    messages_on(client)
    fill_course(course)

    html = client.get("/cart").content.decode()

    assert "line-problem" in html
    assert "Cannot be bought now:</strong> “Tiny class” is sold out." in html
    assert 'href="/checkout"' not in html
    assert 'aria-disabled="true">Check out' in html
    assert "Remove the items marked above to check out." in html

    item = CartItem.objects.get(course=course)
    response = client.post(f"/cart/items/{item.pk}/remove")
    assert response.status_code == 303
    assert response["Location"] == "/cart"
    html = client.get("/cart").content.decode()
    assert "Removed from your cart." in html
    assert "Tiny class" not in html
    assert 'href="/checkout">Check out</a>' in html


def test_removing_an_unknown_item_says_so(client: Client, catalog: Any) -> None:
    add_course(client, catalog.course)
    messages_on(client)
    other = CartItem.objects.create(
        cart=Cart.objects.create(session_key="someone-else"), kind="course", course=catalog.few_seats_course
    )

    client.post(f"/cart/items/{other.pk}/remove")
    client.post("/cart/items/999999/remove")

    assert messages_on(client) == ["That item is not in your cart.", "That item is not in your cart."]
    assert CartItem.objects.count() == 2


# --- checkout -------------------------------------------------------------------------------------


def test_checkout_page_shows_everything_with_the_breakdown(catalog: Any) -> None:
    client = signed_in(verified_customer())
    fill_cart(client, catalog)

    response = client.get("/checkout")

    assert response.status_code == 200
    assert NOINDEX in response["X-Robots-Tag"]
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    positions = [html.index(heading) for heading in (">Studio time<", ">Courses<", ">Products<")]
    assert positions == sorted(positions)
    for title in ("Recording session", "Mixing basics", "Night Drive — Basic lease"):
        assert title in html
    # 90.00 + 149.00 + 29.99, tax included, nothing ships.
    assert 'data-amount="total">€268.99<' in html
    assert 'id="checkout-form"' in html
    assert 'data-api="/api/checkout"' in html
    assert "Proceed to payment" in html
    assert "/static/web/checkout.js" in html


def test_checkout_form_post_opens_the_sandbox_session_for_the_order_total(
    catalog: Any, stripe_client: stripe.StripeClient, stripe_sandbox: Any
) -> None:
    user = verified_customer()
    client = signed_in(user)
    fill_cart(client, catalog)

    response = client.post("/checkout")

    assert response.status_code == 303
    payment = Payment.objects.select_related("order").get(order__user=user)
    assert response["Location"] == payment.checkout_url
    assert payment.checkout_url.startswith(stripe_sandbox.base_url)
    session = session_of(stripe_client, payment.session_id or "")
    assert session.amount_total == payment.order.total_amount == 26_899
    assert session.client_reference_id == payment.order.code
    # The cart is kept until the payment is through.
    assert Cart.objects.get(user=user).items.count() == 3


def test_checkout_when_sold_out_meanwhile_shows_the_problem_and_charges_nothing(
    catalog: Any, stripe_sandbox: Any
) -> None:
    user = verified_customer()
    client = signed_in(user)
    course = CourseFactory(title="Tiny class", capacity=1)
    add_course(client, course)
    add_license(client, catalog.beat)
    messages_on(client)
    fill_course(course)

    response = client.post("/checkout")

    assert response.status_code == 409
    html = response.content.decode()
    assert "“Tiny class” is sold out." in html
    assert "Nothing was charged." in html
    assert not Order.objects.filter(user=user).exists()
    assert not Payment.objects.filter(order__user=user).exists()


def test_checkout_of_an_empty_cart_says_so(stripe_sandbox: Any, db: None) -> None:
    client = signed_in(verified_customer())
    assert "Your cart is empty" in client.get("/checkout").content.decode()

    response = client.post("/checkout")

    assert response.status_code == 409
    assert "Your cart is empty" in response.content.decode()
    assert not Order.objects.exists()


def test_provider_outage_at_checkout_is_readable_and_can_be_tried_again(catalog: Any, stripe_sandbox: Any) -> None:
    client = signed_in(verified_customer())
    add_course(client, catalog.course)
    stripe_sandbox.faults.update({"script": ["error"] * 4})

    response = client.post("/checkout")

    assert response.status_code == 502
    html = response.content.decode()
    assert "payment provider is not answering" in html
    assert ">Try again</button>" in html

    assert client.post("/checkout").status_code == 303


def test_the_api_checkout_used_by_the_page_script_needs_the_csrf_token(catalog: Any, stripe_sandbox: Any) -> None:
    user = verified_customer()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    add(client, kind="course", course_id=catalog.course.pk, csrfmiddlewaretoken="")  # refused: no token
    assert not CartItem.objects.exists()
    client.get(f"/courses/{catalog.course.slug}")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    add(client, kind="course", course_id=catalog.course.pk, csrfmiddlewaretoken=token)

    assert client.post("/api/checkout").status_code == 403
    response = client.post("/api/checkout", headers={"X-CSRFToken": token})

    assert response.status_code == 201, response.content
    assert response.json()["checkout_url"].startswith(stripe_sandbox.base_url)


# --- back from Stripe: success --------------------------------------------------------------------


def test_a_license_alone_is_an_order_confirmed_not_a_booking(catalog: Any, stripe_client: stripe.StripeClient) -> None:
    """Nothing dated in it: the page says "order", and each line says what it is (a license, not a "product")."""
    client = signed_in(verified_customer())
    assert add_license(client, catalog.beat).status_code == 303
    cart = client.get("/cart").content.decode()
    assert '<p class="card-kicker">License</p>' in cart
    payment = checked_out(client)
    pay_in_sandbox(stripe_client, payment.session_id or "")

    html = client.get(f"/payment/success?session_id={payment.session_id}").content.decode()

    assert "<h1>Your order is confirmed</h1>" in html
    result = html[html.index('class="result"') : html.index("</section>")]
    assert "booking" not in result.lower()
    assert '<p class="card-kicker">License</p>' in html
    assert '<p class="card-kicker">License' in client.get(f"/orders/{payment.order.code}").content.decode()


def test_success_page_shows_the_real_order_and_follows_the_payment(
    catalog: Any, stripe_client: stripe.StripeClient
) -> None:
    client = signed_in(verified_customer())
    fill_cart(client, catalog)
    payment = checked_out(client)
    order = payment.order
    url = f"/payment/success?session_id={payment.session_id}"

    response = client.get(url)
    assert response.status_code == 200
    assert NOINDEX in response["X-Robots-Tag"]
    html = response.content.decode()
    assert order.code in html
    assert "Awaiting payment" in html
    assert "We have not received this payment yet" in html
    assert f'href="{payment.checkout_url}"' in html
    for title in ("Mixing basics", "Recording session", "Night Drive — Basic lease"):
        assert title in html
    assert 'id="order-total">€268.99<' in html

    pay_in_sandbox(stripe_client, payment.session_id or "")
    # The page applies the paid session itself (the same fulfilment as the webhook's), once.
    html = client.get(url).content.decode()
    assert "Your booking is confirmed" in html
    assert "http-equiv" not in html
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED
    assert client.get(url).status_code == 200
    actions = list(order.audit_entries.values_list("action", flat=True))
    assert actions.count("order.confirmed") == 1


def test_success_page_of_someone_elses_payment_is_not_found(catalog: Any, stripe_sandbox: Any) -> None:
    client = signed_in(verified_customer())
    add_course(client, catalog.course)
    payment = checked_out(client)
    url = f"/payment/success?session_id={payment.session_id}"

    response = signed_in(verified_customer("eve@example.com")).get(url)

    assert response.status_code == 404
    assert "We could not find this payment" in response.content.decode()
    assert NOINDEX in response["X-Robots-Tag"]
    # Staff may look at any payment.
    assert signed_in(StaffUserFactory()).get(url).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?session_id=",
        "?session_id=cs_test_doesnotexist",
        "?session_id={CHECKOUT_SESSION_ID}",
        "?session_id=%27%3E%3Cscript%3Ealert(1)%3C/script%3E",
        "?session_id=" + "cs_" + "a" * 5000,
    ],
    ids=["missing", "empty", "unknown", "placeholder", "script", "huge"],
)
def test_success_page_with_a_missing_unknown_or_garbage_id_is_a_readable_404(
    stripe_sandbox: Any, db: None, query: str
) -> None:
    response = signed_in(verified_customer()).get("/payment/success" + query)

    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find this payment" in html
    assert "<script>alert" not in html


def test_success_page_when_the_provider_is_down_says_the_order_is_safe(catalog: Any, stripe_sandbox: Any) -> None:
    client = signed_in(verified_customer())
    add_course(client, catalog.course)
    payment = checked_out(client)
    stripe_sandbox.faults.update({"script": ["error"] * 4})

    response = client.get(f"/payment/success?session_id={payment.session_id}")

    assert response.status_code == 200
    html = response.content.decode()
    assert "could not check this payment with the payment provider" in html
    assert f"Your order {payment.order.code} is safe" in html
    assert "Mixing basics" in html


def test_success_page_of_an_expired_attempt_or_a_failed_payment_offers_a_way_on(
    catalog: Any, stripe_sandbox: Any
) -> None:
    client = signed_in(verified_customer())
    add_course(client, catalog.course)
    first = checked_out(client)
    client.post("/payment/retry", {"order": first.order.code})  # expires the first session

    html = client.get(f"/payment/success?session_id={first.session_id}").content.decode()
    assert "This payment page has expired" in html
    assert "Nothing was charged." in html

    Order.objects.filter(pk=first.order.pk).update(status=OrderStatus.FAILED)
    html = client.get(f"/payment/success?session_id={first.session_id}").content.decode()
    assert "Your payment did not go through" in html
    assert 'id="retry-button"' in html


# --- back from Stripe: cancel and try again -------------------------------------------------------


def test_cancel_page_keeps_the_cart_and_try_again_opens_a_new_session(
    catalog: Any, stripe_client: stripe.StripeClient
) -> None:
    user = verified_customer()
    client = signed_in(user)
    fill_cart(client, catalog)
    first = checked_out(client)
    order = first.order

    response = client.get(f"/payment/cancel?order={order.code}")

    assert response.status_code == 200
    assert NOINDEX in response["X-Robots-Tag"]
    html = response.content.decode()
    assert "Nothing was charged." in html
    assert "Your cart is kept, with 3 items in it." in html
    assert 'href="/cart"' in html
    assert 'id="retry-button"' in html
    assert Cart.objects.get(user=user).items.count() == 3

    response = client.post("/payment/retry", {"order": order.code})

    assert response.status_code == 303
    second = Payment.objects.get(order=order, attempt=2)
    assert response["Location"] == second.checkout_url != first.checkout_url
    assert session_of(stripe_client, first.session_id or "").status == "expired"
    new_session = session_of(stripe_client, second.session_id or "")
    assert new_session.status == "open"
    assert new_session.amount_total == order.total_amount


def test_cart_page_offers_to_pay_the_unpaid_order(catalog: Any, stripe_client: stripe.StripeClient) -> None:
    client = signed_in(verified_customer())
    add_course(client, catalog.course)
    first = checked_out(client)

    html = client.get("/cart").content.decode()

    assert f"You have an unpaid order {first.order.code}" in html
    response = client.post("/payment/retry", {"order": first.order.code, "next": "/cart"})
    assert response.status_code == 303
    assert response["Location"] == Payment.objects.get(order=first.order, attempt=2).checkout_url


def test_try_again_after_the_hold_lapsed_explains_how_to_check_out_again(catalog: Any, stripe_sandbox: Any) -> None:
    client = signed_in(verified_customer())
    add_course(client, catalog.course)
    order = checked_out(client).order
    Order.objects.filter(pk=order.pk).update(hold_expires_at=timezone.now() - dt.timedelta(minutes=1))
    cancel_url = f"/payment/cancel?order={order.code}"

    html = client.get(cancel_url).content.decode()
    assert "can no longer be paid" in html
    assert 'id="retry-button"' not in html
    assert f"You have an unpaid order {order.code}" not in client.get("/cart").content.decode()

    response = client.post("/payment/retry", {"order": order.code})

    assert response.status_code == 303
    assert response["Location"] == cancel_url
    (shown,) = messages_on(client, cancel_url)
    assert "Please check out again." in shown
    assert Payment.objects.filter(order=order).count() == 1


def test_cancel_page_of_a_replaced_order_says_it_can_no_longer_be_paid(catalog: Any, stripe_sandbox: Any) -> None:
    client = signed_in(verified_customer())
    add_course(client, catalog.course)
    first = checked_out(client).order
    checked_out(client)  # checking out again replaces (cancels) the first order

    html = client.get(f"/payment/cancel?order={first.code}").content.decode()

    assert "can no longer be paid (it is cancelled)" in html
    assert 'id="retry-button"' not in html


@pytest.mark.parametrize("code", ["", "BD-NOPE99", "nonsense'\"<>", "BD-" + "X" * 500])
def test_cancel_page_of_an_unknown_order_is_a_readable_404(stripe_sandbox: Any, db: None, code: str) -> None:
    client = signed_in(verified_customer())
    response = client.get("/payment/cancel", {"order": code})
    assert response.status_code == 404
    assert "We could not find this order" in response.content.decode()
    assert client.post("/payment/retry", {"order": code}).status_code == 404


def test_cancel_page_and_retry_of_someone_elses_order_are_not_found(catalog: Any, stripe_sandbox: Any) -> None:
    client = signed_in(verified_customer())
    add_course(client, catalog.course)
    order = checked_out(client).order
    eve = signed_in(verified_customer("eve@example.com"))

    assert eve.get(f"/payment/cancel?order={order.code}").status_code == 404
    assert eve.post("/payment/retry", {"order": order.code}).status_code == 404
    assert Payment.objects.filter(order=order).count() == 1


@pytest.mark.parametrize("path", ["/checkout", "/payment/success?session_id=cs_test_x", "/payment/cancel?order=BD-X"])
def test_protected_pages_need_sign_in_and_are_never_indexed(client: Client, db: None, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert NOINDEX in response["X-Robots-Tag"]


# --- Book now -------------------------------------------------------------------------------------


def test_book_now_goes_straight_to_payment_for_that_course(
    catalog: Any, stripe_client: stripe.StripeClient, stripe_sandbox: Any
) -> None:
    user = verified_customer()
    client = signed_in(user)
    add_license(client, catalog.beat)  # the cart is not involved

    response = client.post(f"/courses/{catalog.course.slug}/book")

    assert response.status_code == 303
    payment = Payment.objects.select_related("order").get(order__user=user)
    assert response["Location"] == payment.checkout_url
    assert payment.checkout_url.startswith(stripe_sandbox.base_url)
    assert list(payment.order.lines.values_list("course_id", flat=True)) == [catalog.course.pk]
    assert session_of(stripe_client, payment.session_id or "").amount_total == 14_900
    assert Cart.objects.get(user=user).items.count() == 1


def test_book_now_signed_out_goes_to_sign_in_and_back(client: Client, catalog: Any) -> None:
    response = client.post(f"/courses/{catalog.course.slug}/book")
    assert response.status_code == 303
    assert response["Location"] == f"/accounts/login/?next=%2Fcourses%2F{catalog.course.slug}"
    assert not Order.objects.exists()


def test_book_now_when_sold_out_says_so_on_the_course_page(catalog: Any, stripe_sandbox: Any) -> None:
    course = CourseFactory(title="Tiny class", slug="tiny-class", capacity=1)
    client = signed_in(verified_customer())
    client.get(f"/courses/{course.slug}")
    fill_course(course)

    response = client.post(f"/courses/{course.slug}/book")

    assert response.status_code == 303
    assert response["Location"] == "/courses/tiny-class"
    (shown,) = messages_on(client, "/courses/tiny-class")
    assert "“Tiny class” is sold out." in shown
    assert not Payment.objects.exists()


def test_book_now_for_an_unknown_course_is_a_404(db: None) -> None:
    assert signed_in(verified_customer()).post("/courses/no-such-course/book").status_code == 404
    assert signed_in(verified_customer("b@example.com")).get("/courses/no-such-course/book").status_code in (404, 405)


def test_success_page_gives_the_next_steps_and_the_timeline_names_who_acted(
    catalog: Any, stripe_client: stripe.StripeClient, admin_client: Client
) -> None:
    customer = verified_customer()
    client = signed_in(customer)
    fill_cart(client, catalog)
    payment = checked_out(client)
    order = payment.order
    pay_in_sandbox(stripe_client, payment.session_id or "")

    html = client.get(f"/payment/success?session_id={payment.session_id}").content.decode()

    assert "Your booking is confirmed" in html
    assert f"We emailed you at <strong>{customer.email}</strong>" in html
    steps = html[html.index('id="next-steps"') :]
    assert re.search(r'href="[^"]*/downloads/[^"]*" data-action="download">Download</a> Night Drive', steps)
    assert f'href="/orders/{order.code}/calendar.ics" data-action="calendar">Add to calendar' in steps
    assert f'href="/orders/{order.code}" data-action="order">See your order' in steps
    invoice = Invoice.objects.get(order=order)
    assert f'href="/api/orders/{order.code}/documents/{invoice.number}" data-action="invoice">' in steps
    assert client.get(f"/api/orders/{order.code}/documents/{invoice.number}")["Content-Type"] == "application/pdf"
    assert "Back to the catalog" in html

    # The customer acts, the shop acts, bookdesk itself acts: each is named as such on the timeline.
    line = order.lines.get(kind="course")
    assert client.post(f"/orders/{order.code}/lines/{line.pk}/cancel").status_code == 303
    admin_client.post(f"/admin/orders/order/{order.pk}/refund/", {"amount": 100, "reason": "goodwill"})
    audit(actor="worker", action="order.holds_released", obj=order, order=order)
    page = client.get(f"/orders/{order.code}").content.decode()

    def who(action: str) -> list[str]:
        entries = re.findall(rf'data-event="{re.escape(action)}">.*?<p class="muted small">([^<]*)</p>', page, re.S)
        return [entry.strip() for entry in entries]

    assert who("payment.paid") == ["The payment provider"]  # applied by the success page, but Stripe's doing
    assert who("order.confirmed") == ["The payment provider"]
    assert who("line.cancelled") == ["You"]
    assert who("refund.created") == ["You", "The shop"]
    assert who("order.holds_released") == ["bookdesk studio"]  # the shop's name (BOOKDESK_NAME)
    assert who("order.placed") == ["You"]
