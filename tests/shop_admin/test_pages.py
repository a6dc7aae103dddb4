"""Every admin page renders for a superuser and, where the role allows, for an operator; a customer is sent to
sign in. Money reads as money, times in the business's zone with the zone named, filters list values in use."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookdesk.accounts.services import user_make_operator
from bookdesk.catalog.models import Course, License, Product
from bookdesk.money import format_money
from bookdesk.orders.models import Order
from bookdesk.web.middleware import AdminTimeZoneMiddleware
from factories import CourseFactory, UserFactory

from .conftest import Shop, admin_pages, change_url, changelist_url

pytestmark = pytest.mark.django_db

# What the operator role works with in the admin (accounts/roles.py); the rest is the superuser's.
OPERATOR_SEES = {
    "catalog.course",
    "catalog.product",
    "catalog.resource",
    "catalog.service",
    "catalog.voicetag",
    "catalog.shippingzone",
    "orders.shipment",
    "orders.stockhold",
    "orders.auditentry",
    "orders.booking",
    "orders.grant",
    "orders.order",
    "orders.reservation",
    "payments.payment",
    "payments.refund",
    "payments.webhookevent",
    "payments.invoice",
    "payments.creditnote",
    "payments.reconcilerun",
    "notifications.outgoingemail",
}
PAGES = [label for label, _model in admin_pages()]


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def model_of(label: str) -> type[Model]:
    return dict(admin_pages())[label]


def test_every_page_renders_for_the_superuser_and_the_operator_and_sends_a_customer_to_sign_in(shop: Shop) -> None:
    """Every list and change page of one shop (seeded once for all of them: a quarter of a second each)."""
    superuser, operator, customer = (client_for(user) for user in (shop.superuser, shop.operator, shop.customer))
    for label in PAGES:
        model = model_of(label)
        urls = [changelist_url(model)] + ([url] if (url := change_url(model)) else [])
        for url in urls:
            assert superuser.get(url).status_code == 200, url
            assert operator.get(url).status_code == (200 if label in OPERATOR_SEES else 403), url
            response = customer.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login"))
            assert Client().get(url)["Location"].startswith(reverse("admin:login")), url


def test_the_operator_sees_the_shop_sections_only(shop: Shop) -> None:
    page = client_for(shop.operator).get(reverse("admin:index")).content.decode()
    for section in ("Catalog", "Orders &amp; bookings", "Payments", "Emails"):
        assert section in page
    for hidden in ("Customers &amp; staff", "Staff roles", "Sign-in"):
        assert hidden not in page


def test_sections_have_distinct_names_a_shop_owner_reads(shop: Shop) -> None:
    page = client_for(shop.superuser).get(reverse("admin:index")).content.decode()
    sections = re.findall(r'<caption>\s*<a [^>]*class="section"[^>]*>([^<]+)</a>', page)
    assert len(sections) == len(set(sections)), sections
    for name in ("Customers &amp; staff", "Sign-in &amp; email addresses", "Staff roles", "Orders &amp; bookings"):
        assert name in sections
    assert "Accounts" not in sections
    for model_name in ("Course seats", "Studio bookings", "Licenses sold", "Stripe events"):
        assert model_name in page


def test_the_operator_cannot_delete_orders_or_manage_users(shop: Shop) -> None:
    operator = client_for(shop.operator)
    order = shop.orders[0]
    assert operator.post(reverse("admin:orders_order_delete", args=[order.pk]), {"post": "yes"}).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()
    assert operator.get(reverse("admin:accounts_user_add")).status_code == 403
    assert operator.post(reverse("admin:auth_group_add"), {"name": "root"}).status_code == 403
    assert not shop.operator.is_superuser
    assert not shop.operator.has_perm("orders.delete_order")
    assert not shop.operator.has_perm("payments.delete_payment")
    assert not shop.operator.has_perm("accounts.change_user")


def test_the_operator_refunds_but_a_staff_member_without_the_role_cannot(shop: Shop) -> None:
    order = shop.orders[0]
    url = reverse("admin:orders_order_refund", args=[order.pk])
    assert client_for(shop.operator).get(url).status_code == 200
    bare_staff = UserFactory(is_staff=True)
    bare_staff.user_permissions.add(Permission.objects.get(codename="view_order"))
    assert client_for(bare_staff).get(url).status_code == 403
    listing = client_for(bare_staff).get(reverse("admin:orders_order_changelist")).content.decode()
    assert "refund_in_full" not in listing


def test_the_order_page_shows_money_with_its_currency_and_no_minor_units(shop: Shop) -> None:
    order = shop.orders[0]
    page = client_for(shop.operator).get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert format_money(order.total_amount, order.currency) in page  # total, line, payment
    assert format_money(order.tax_amount, order.currency) in page
    assert f"total {format_money(order.total_amount, order.currency)}" in page  # the audit entry's data
    assert not re.search(rf"\b{order.total_amount}\b", page)
    assert ">Save<" not in page  # nothing on it is edited by hand
    line = order.lines.get()
    assert line.description in page
    assert re.search(rf"field-unit_price\">\s*<p>{re.escape(format_money(line.unit_amount, order.currency))}</p>", page)


def test_lists_show_money_with_its_currency(shop: Shop) -> None:
    superuser = client_for(shop.superuser)
    orders = superuser.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "¥12,000" in orders
    for order in shop.orders:
        assert format_money(order.total_amount, order.currency) in orders
    refunds = superuser.get(reverse("admin:payments_refund_changelist")).content.decode()
    assert "€12.50" in refunds
    products = superuser.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert "Basic lease €29.99" in products


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_times_are_shown_in_the_business_zone_with_its_name(shop: Shop, settings: Any, zone: str) -> None:
    settings.BOOKDESK_TIME_ZONE = zone
    order = shop.orders[0]
    page = client_for(shop.operator).get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    local = order.created_at.astimezone(ZoneInfo(zone))
    assert f"{local.day} {local:%b %Y %H:%M} {local.tzname()}" in page
    assert f"Times in {zone}" in page
    utc = order.created_at.astimezone(dt.UTC)
    assert f"{utc.day} {utc:%b %Y %H:%M}" not in page
    listing = client_for(shop.operator).get(reverse("admin:orders_order_changelist")).content.decode()
    assert f"{local.day} {local:%b %Y %H:%M} {local.tzname()}" in listing


def course_form(**fields: str) -> dict[str, str]:
    return {
        "title": "Vocal coaching",
        "slug": "vocal-coaching",
        "description": "",
        "starts_at_0": "2027-05-01",
        "starts_at_1": "18:00",
        "ends_at_0": "2027-05-01",
        "ends_at_1": "20:00",
        "location": "Studio A",
        "capacity": "8",
        "price_amount": "129.99",
        "currency": "eur",
        "published": "on",
        **fields,
    }


def test_a_price_is_typed_in_major_units_and_dates_in_the_business_zone(shop: Shop) -> None:
    response = client_for(shop.operator).post(reverse("admin:catalog_course_add"), course_form())
    assert response.status_code == 302
    course = Course.objects.get(slug="vocal-coaching")
    assert (course.price_amount, course.currency) == (12999, "eur")
    assert course.starts_at == dt.datetime(2027, 5, 1, 16, 0, tzinfo=dt.UTC)  # 18:00 in Berlin (CEST)
    page = client_for(shop.operator).get(reverse("admin:catalog_course_change", args=[course.pk])).content.decode()
    assert 'value="129.99"' in page
    assert "In EUR, such as 129.99." in page


@pytest.mark.parametrize(
    ("price", "currency", "stored", "error"),
    [
        ("1200", "jpy", 1200, None),
        ("1,200", "jpy", 1200, None),
        ("1.234", "kwd", None, "Select a valid choice."),  # not a currency the shop prices in
        ("1200.5", "jpy", None, "JPY has no smaller unit: enter a whole amount, such as 1200."),
        ("12.999", "eur", None, "EUR amounts have at most 2 decimals."),
        ("twelve", "eur", None, "Enter an amount in EUR, such as 129.99."),
        ("-5", "eur", None, "Enter an amount of zero or more."),
    ],
)
def test_a_price_in_another_currency_or_a_bad_one(
    shop: Shop, price: str, currency: str, stored: int | None, error: str | None
) -> None:
    response = client_for(shop.operator).post(
        reverse("admin:catalog_course_add"), course_form(price_amount=price, currency=currency)
    )
    if error is None:
        assert response.status_code == 302
        assert Course.objects.get(slug="vocal-coaching").price_amount == stored
    else:
        assert response.status_code == 200
        assert error in response.content.decode()
        assert not Course.objects.filter(slug="vocal-coaching").exists()


def test_license_prices_are_typed_in_the_products_currency(shop: Shop) -> None:
    product = Product.objects.filter(licenses__isnull=False).distinct().order_by("pk").first()
    assert product is not None
    licenses = list(product.licenses.order_by("pk"))
    url = reverse("admin:catalog_product_change", args=[product.pk])
    page = client_for(shop.operator).get(url).content.decode()
    assert "Price (EUR)" in page
    assert f'value="{licenses[0].price_amount / 100:.2f}"' in page
    data = {
        "title": product.title,
        "slug": product.slug,
        "kind": product.kind,
        "description": product.description,
        "price_amount": "",
        "currency": "jpy",  # the product moves to yen: its licence prices are read in yen
        "published": "on",
        "licenses-TOTAL_FORMS": str(len(licenses)),
        "licenses-INITIAL_FORMS": str(len(licenses)),
        "licenses-MIN_NUM_FORMS": "0",
        "licenses-MAX_NUM_FORMS": "1000",
    }
    for i, license_ in enumerate(licenses):
        data |= {
            f"licenses-{i}-id": str(license_.pk),
            f"licenses-{i}-product": str(product.pk),
            f"licenses-{i}-tier": license_.tier,
            f"licenses-{i}-name": license_.name,
            f"licenses-{i}-price_amount": f"{4000 + i}",
            f"licenses-{i}-terms": license_.terms,
            f"licenses-{i}-active": "on",
        } | ({f"licenses-{i}-exclusive": "on"} if license_.exclusive else {})
    response = client_for(shop.operator).post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert sorted(License.objects.filter(product=product).values_list("price_amount", flat=True)) == [
        4000 + i for i in range(len(licenses))
    ]


def test_the_currency_filter_lists_only_currencies_in_use(shop: Shop) -> None:
    page = client_for(shop.operator).get(reverse("admin:orders_order_changelist")).content.decode()
    assert "currency__exact=eur" in page
    assert "currency__exact=jpy" in page
    assert "currency__exact=usd" not in page
    assert "status__exact=confirmed" in page
    assert "status__exact=refunded" not in page  # no order has it
    yen_only = (
        client_for(shop.operator)
        .get(reverse("admin:orders_order_changelist"), {"currency__exact": "jpy"})
        .content.decode()
    )
    assert "¥12,000" in yen_only
    assert "€149.00" not in yen_only


def test_a_filter_with_a_single_value_in_use_is_not_shown(shop: Shop) -> None:
    courses = client_for(shop.operator).get(reverse("admin:catalog_course_changelist")).content.decode()
    assert "currency__exact=jpy" in courses  # the seed's EUR courses and the yen camp
    payments = client_for(shop.operator).get(reverse("admin:payments_refund_changelist")).content.decode()
    assert "currency__exact" not in payments  # every refund is in EUR: nothing to choose
    assert "status__exact" not in payments


def test_a_shop_in_one_currency_shows_no_currency_filter() -> None:
    CourseFactory(currency="eur")
    CourseFactory(currency="eur")
    operator, _ = user_make_operator(email="op@example.com")
    courses = client_for(operator).get(reverse("admin:catalog_course_changelist")).content.decode()
    assert "€" in courses
    assert "currency__exact" not in courses


def test_only_the_admin_works_in_the_business_zone() -> None:
    seen = []

    def record(request: Any) -> Any:
        seen.append(timezone.get_current_timezone_name())
        return None

    middleware = AdminTimeZoneMiddleware(record)
    middleware(SimpleRequest("/admin/orders/order/"))
    middleware(SimpleRequest("/bookings"))
    assert seen == ["Europe/Berlin", "UTC"]


class SimpleRequest:
    def __init__(self, path: str) -> None:
        self.path = path
