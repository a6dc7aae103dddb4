"""factory_boy factories for users and the catalog, and the helpers every test package shares to make
customers who can sign in, sign them in, and place orders in a given state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.test import Client
from django.utils import timezone
from factory.django import DjangoModelFactory

from bookdesk.accounts.models import User
from bookdesk.accounts.services import user_ensure_verified
from bookdesk.catalog.models import Course, License, OpeningHours, Product, Resource, Service
from bookdesk.catalog.selectors import business_time_zone, business_today
from bookdesk.orders.models import Booking, Grant, HoldStatus, Order, OrderStatus, Reservation, StockHold
from bookdesk.orders.services import ItemRequest, order_place

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory[User]):
    """A customer with a usable password (`DEFAULT_PASSWORD`); pass `password=` to choose another."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    is_active = True

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        self.set_password(extracted or DEFAULT_PASSWORD)
        if create:
            self.save(update_fields=["password"])


class StaffUserFactory(UserFactory):
    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    is_staff = True
    is_superuser = True


class CourseFactory(DjangoModelFactory[Course]):
    """A published course a week from now, two hours long."""

    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"Course {n}")
    slug = factory.Sequence(lambda n: f"course-{n}")
    description = "Hands-on session in the studio."
    starts_at = factory.LazyFunction(lambda: timezone.now().replace(microsecond=0) + dt.timedelta(days=7))
    ends_at = factory.LazyAttribute(lambda course: course.starts_at + dt.timedelta(hours=2))
    location = "Studio A"
    capacity = 10
    price_amount = 9900
    currency = "eur"
    published = True


class ResourceFactory(DjangoModelFactory[Resource]):
    class Meta:
        model = Resource
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Studio {n}")
    kind = Resource.Kind.ROOM
    active = True


class OpeningHoursFactory(DjangoModelFactory[OpeningHours]):
    """Mondays 09:00–17:00 unless told otherwise (weekday 0 = Monday)."""

    class Meta:
        model = OpeningHours

    resource = factory.SubFactory(ResourceFactory)
    weekday = 0
    opens_at = dt.time(9, 0)
    closes_at = dt.time(17, 0)


class ServiceFactory(DjangoModelFactory[Service]):
    """A 60-minute service; `ServiceFactory(resources=[r1, r2])` attaches resources."""

    class Meta:
        model = Service
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    description = "Studio time."
    duration_minutes = 60
    price_amount = 6000
    currency = "eur"
    published = True

    @factory.post_generation
    def resources(self, create: bool, extracted: list[Resource] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.resources.set(extracted)


class ProductFactory(DjangoModelFactory[Product]):
    """A digital product (a beat) without licenses; see `BeatFactory` for one with the three tiers."""

    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"Beat {n}")
    slug = factory.Sequence(lambda n: f"beat-{n}")
    kind = Product.Kind.DIGITAL
    description = "90 BPM, A minor."
    price_amount = None
    currency = "eur"
    published = True


class PhysicalProductFactory(ProductFactory):
    title = factory.Sequence(lambda n: f"Vinyl {n}")
    slug = factory.Sequence(lambda n: f"vinyl-{n}")
    kind = Product.Kind.PHYSICAL
    price_amount = 2800
    stock = 50
    weight_grams = 300


class LicenseFactory(DjangoModelFactory[License]):
    """A basic lease; pass `tier=License.Tier.EXCLUSIVE` and the exclusive flag follows."""

    class Meta:
        model = License

    product = factory.SubFactory(ProductFactory)
    tier = License.Tier.BASIC
    name = factory.LazyAttribute(lambda license: License.Tier(license.tier).label)
    price_amount = 2999
    exclusive = factory.LazyAttribute(lambda license: license.tier == License.Tier.EXCLUSIVE)
    active = True


class BeatFactory(ProductFactory):
    """A beat with basic, premium and exclusive licenses."""

    class Meta:
        skip_postgeneration_save = True

    basic = factory.RelatedFactory(LicenseFactory, "product", tier=License.Tier.BASIC, price_amount=2999)
    premium = factory.RelatedFactory(LicenseFactory, "product", tier=License.Tier.PREMIUM, price_amount=7999)
    exclusive = factory.RelatedFactory(LicenseFactory, "product", tier=License.Tier.EXCLUSIVE, price_amount=49900)


# --- customers who sign in -----------------------------------------------------------------------


def verified_customer(email: str = "ada@example.com", password: str = DEFAULT_PASSWORD) -> User:
    """A customer who can sign in at once (address verified), made or reset by the app's own service."""
    return user_ensure_verified(email=email, password=password)[0]


def signed_in(user: User | None = None) -> Client:
    """Django's test client with `user` (a new customer unless given) signed in by session cookie."""
    client = Client()
    client.force_login(user or UserFactory())
    return client


def login_token(email: str, password: str = DEFAULT_PASSWORD) -> str:
    """A verified customer with this email (made if needed) logged in through allauth's headless API:
    the real app session token (X-Session-Token)."""
    verified_customer(email, password)
    response = Client().post(
        "/_allauth/app/v1/auth/login", {"email": email, "password": password}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["meta"]["session_token"])


# --- orders in a given state ---------------------------------------------------------------------


def studio(days_ahead: int = 3) -> tuple[Service, dt.date]:
    """A service whose resource is open 09:00–18:00 on the day `days_ahead` from today (business time)."""
    day = business_today() + dt.timedelta(days=days_ahead)
    resource = ResourceFactory()
    OpeningHoursFactory(resource=resource, weekday=day.weekday(), opens_at=dt.time(9), closes_at=dt.time(18))
    return ServiceFactory(resources=[resource]), day


def slot(day: dt.date, hour: int) -> dt.datetime:
    """The start of the slot at `hour` (business time) on `day`, in UTC."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=business_time_zone()).astimezone(dt.UTC)


def place(user: User, *items: ItemRequest) -> Order:
    """An order placed through the real `order_place` (holds taken, payment pending)."""
    return order_place(user=user, items=list(items), now=timezone.now())


def set_holds(order: Order, status: str) -> None:
    """Every seat, slot, license and goods hold of the order set to `status`."""
    for model in (Booking, Reservation, Grant, StockHold):
        model.objects.filter(line__order=order).update(status=status)


def confirm(order: Order) -> Order:
    """Paid and fulfilled, as `fulfil_checkout` leaves it."""
    set_holds(order, HoldStatus.CONFIRMED)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CONFIRMED)
    order.refresh_from_db()
    return order
