"""Eve changes what she sends: prices, quantities, ids of things not on sale, other products' tiers, script and
SQL in every text she can put on a page or in a query. The server prices everything itself, refuses what is
not on sale with a clear problem, escapes what it shows, and never runs what it is sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bookdesk.cart.models import CartItem
from bookdesk.catalog.models import License
from bookdesk.orders.models import Order
from factories import BeatFactory, CourseFactory, studio

from .conftest import Victim

pytestmark = pytest.mark.django_db


def add(client: Client, token: str, body: dict[str, Any]) -> Any:
    return client.post("/api/cart/items", body, content_type="application/json", headers={"X-Session-Token": token})


def cart_of(token: str) -> dict[str, Any]:
    return Client().get("/api/cart", headers={"X-Session-Token": token}).json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "extra",
    [
        {"price_amount": 1},
        {"unit_amount": 0},
        {"total": {"amount": 1, "currency": "eur"}},
        {"currency": "jpy"},
        {"tax_amount": -500},
    ],
    ids=["price_amount", "unit_amount", "total", "currency", "tax"],
)
def test_a_price_sent_by_the_client_is_never_used(eve_token: str, extra: dict[str, Any]) -> None:
    course = CourseFactory(price_amount=12_900, currency="eur")
    response = add(Client(), eve_token, {"kind": "course", "course_id": course.pk, **extra})
    assert response.status_code in (201, 422), response.content
    cart = cart_of(eve_token)
    for line in cart["items"]:
        assert line["unit_price"] == {"amount": 12_900, "currency": "eur"}
    assert cart["subtotal"]["amount"] in (0, 12_900)


@pytest.mark.parametrize("quantity", [0, -1, 11, 10**9, "2; DROP TABLE orders", 1.5])
def test_a_quantity_out_of_range_is_a_422_and_adds_nothing(eve_token: str, quantity: Any) -> None:
    product = BeatFactory()
    license_ = License.objects.get(product=product, tier=License.Tier.BASIC)
    body = {"kind": "product", "product_id": product.pk, "license_id": license_.pk, "quantity": quantity}
    response = add(Client(), eve_token, body)
    assert response.status_code == 422, response.content
    assert cart_of(eve_token)["count"] == 0


def _unsellable(case: str) -> dict[str, Any]:
    if case == "unpublished course":
        return {"kind": "course", "course_id": CourseFactory(published=False).pk}
    if case == "past course":
        start = timezone.now() - dt.timedelta(days=2)
        return {"kind": "course", "course_id": CourseFactory(starts_at=start, ends_at=start + dt.timedelta(hours=2)).pk}
    if case == "course that does not exist":
        return {"kind": "course", "course_id": 987_654}
    if case == "another product's tier":
        mine, other = BeatFactory(), BeatFactory()
        return {
            "kind": "product",
            "product_id": mine.pk,
            "license_id": License.objects.filter(product=other).first().pk,
        }
    if case == "inactive tier":
        beat = BeatFactory()
        tier = License.objects.get(product=beat, tier=License.Tier.PREMIUM)
        tier.active = False
        tier.save()
        return {"kind": "product", "product_id": beat.pk, "license_id": tier.pk}
    service, day = studio()
    if case == "slot off the grid":
        start = dt.datetime.combine(day, dt.time(10, 7), tzinfo=dt.UTC)
    elif case == "slot outside opening hours":
        start = dt.datetime.combine(day, dt.time(3), tzinfo=dt.UTC)
    else:  # "slot in the past"
        start = timezone.now().replace(microsecond=0) - dt.timedelta(days=1)
    return {"kind": "service", "service_id": service.pk, "starts_at": start.isoformat()}


UNSELLABLE = [
    "unpublished course",
    "past course",
    "course that does not exist",
    "another product's tier",
    "inactive tier",
    "slot off the grid",
    "slot outside opening hours",
    "slot in the past",
]


@pytest.mark.parametrize("case", UNSELLABLE)
def test_what_is_not_on_sale_cannot_be_put_in_the_cart(eve_token: str, case: str) -> None:
    response = add(Client(), eve_token, _unsellable(case))
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"]
    assert not CartItem.objects.exists()


def test_a_session_id_made_up_by_the_client_confirms_nothing(ada: Victim) -> None:
    browser = Client()
    browser.force_login(ada.user)
    response = browser.get("/payment/success", {"session_id": "cs_test_made_up_by_eve"})
    assert response.status_code == 404
    ada.pending.refresh_from_db()
    assert ada.pending.status == Order.objects.get(pk=ada.pending.pk).status == "pending"


SCRIPT = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


@pytest.mark.parametrize("where", ["title", "description", "location"])
def test_script_in_a_course_is_shown_as_text(db: None, where: str) -> None:
    course = CourseFactory(**{where: SCRIPT})
    for path in ("/", f"/courses/{course.slug}"):
        page = Client().get(path).content.decode()
        assert "<script>alert" not in page
        assert "onerror=alert" not in page or "&lt;img" in page


def test_script_in_a_beat_title_is_shown_as_text(db: None) -> None:
    beat = BeatFactory(title=SCRIPT)
    page = Client().get(f"/products/{beat.pk}").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize(
    "q",
    [
        "' OR 1=1 --",
        '" OR ""="',
        "%' UNION SELECT password FROM auth_user --",
        "\\",
        "%%",
        "_",
        "ünïcødé 🎟️",
        "a" * 2000,
    ],
    ids=["or-1-1", "double-quote", "union", "backslash", "percent", "underscore", "unicode", "long"],
)
def test_search_text_is_data_not_sql(db: None, q: str) -> None:
    CourseFactory(title="Mixing basics")
    response = Client().get("/api/courses", {"q": q})
    assert response.status_code in (200, 422), response.content
    if response.status_code == 200:
        assert response.json()["total"] == 0  # none of these match the one course, and nothing else leaks


def test_a_nul_byte_in_a_query_is_refused_cleanly(db: None) -> None:
    response = Client().get("/api/courses", {"q": "a\x00b"})
    assert response.status_code in (200, 400, 422)


@pytest.mark.parametrize("code", ["BD-' OR '1'='1", "../../etc/passwd", "BD-%00", "BD-" + "Z" * 500])
def test_an_order_code_is_never_a_path_or_sql(eve_token: str, code: str) -> None:
    response = Client().get(f"/api/orders/{code}", headers={"X-Session-Token": eve_token})
    assert response.status_code in (400, 404)  # a NUL is a malformed request; the rest are unknown codes
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "token",
    ["../../../etc/passwd", "eyJncmFudCI6MX0:1xZXaw:forged", "e30:0:0", "%2e%2e%2fsettings.py", "a" * 3000],
)
def test_a_forged_download_token_serves_nothing(ada: Victim, token: str) -> None:
    browser = Client()
    browser.force_login(ada.user)
    response = browser.get(f"/downloads/{token}")
    assert response.status_code in (400, 404)
    assert not response.has_header("Content-Disposition")


@pytest.mark.parametrize(
    "email", ["eve@example.com\r\nBcc: all@example.com", "eve@example.com\nSubject: hi", "<script>@example.com"]
)
def test_an_email_with_headers_or_markup_cannot_sign_up(db: None, email: str) -> None:
    response = Client().post(
        "/_allauth/app/v1/auth/signup", {"email": email, "password": "Ev1l-pass-99x"}, content_type="application/json"
    )
    assert response.status_code == 400
