"""factory_boy factories for users and the catalog, shared by every test package."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from bookdesk.accounts.models import User
from bookdesk.catalog.models import Course, License, OpeningHours, Product, Resource, Service

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
