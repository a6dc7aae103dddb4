"""`bookdesk seed`: a demo catalog. Idempotent — rows are matched by slug (or natural key) and updated."""

from __future__ import annotations

import datetime as dt
import io
import math
import wave
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from bookdesk.catalog.models import Course, License, OpeningHours, Product, Resource, Service
from bookdesk.catalog.selectors import business_time_zone
from bookdesk.catalog.shipping_defaults import zones_ensure_defaults

CURRENCY = "eur"


@dataclass(frozen=True)
class CourseSeed:
    slug: str
    title: str
    days_from_today: int
    start_hour: int
    hours: int
    capacity: int
    price: int
    location: str
    description: str


COURSES = [
    CourseSeed(
        slug="mixing-fundamentals",
        title="Mixing Fundamentals",
        days_from_today=7,
        start_hour=18,
        hours=3,
        capacity=12,
        price=14900,
        location="Studio A",
        description="Balance, EQ and compression on a real multitrack session.",
    ),
    CourseSeed(
        slug="beatmaking-101",
        title="Beatmaking 101",
        days_from_today=14,
        start_hour=10,
        hours=6,
        capacity=10,
        price=9900,
        location="Studio A",
        description="From a blank project to a finished loop: drums, bass and chords.",
    ),
    # Nearly full: only three seats. Once bookings exist, the demo holds some of them.
    CourseSeed(
        slug="vocal-production-masterclass",
        title="Vocal Production Masterclass",
        days_from_today=10,
        start_hour=17,
        hours=4,
        capacity=3,
        price=24900,
        location="Live room",
        description="Recording, comping and tuning lead vocals, in a small group.",
    ),
    CourseSeed(
        slug="mastering-for-streaming",
        title="Mastering for Streaming",
        days_from_today=30,
        start_hour=11,
        hours=5,
        capacity=15,
        price=19900,
        location="Online and Studio A",
        description="Loudness targets, limiting and delivery formats for the streaming services.",
    ),
    CourseSeed(
        slug="synth-sound-design",
        title="Synth Sound Design",
        days_from_today=45,
        start_hour=14,
        hours=3,
        capacity=8,
        price=7900,
        location="Studio B",
        description="Subtractive and FM synthesis: design basses, pads and leads from scratch.",
    ),
    # Already happened: listed for the record, cannot be booked.
    CourseSeed(
        slug="home-studio-basics",
        title="Home Studio Basics",
        days_from_today=-10,
        start_hour=18,
        hours=2,
        capacity=20,
        price=4900,
        location="Studio A",
        description="Monitors, acoustics and gain staging for the bedroom producer.",
    ),
]

# Resource name → (kind, description, [(weekdays, opens, closes)]), Monday = 0.
RESOURCES: dict[str, tuple[str, str, list[tuple[range, dt.time, dt.time]]]] = {
    "Studio A": (
        Resource.Kind.ROOM,
        "The large tracking room with the live booth.",
        [(range(5), dt.time(10, 0), dt.time(20, 0)), (range(5, 6), dt.time(10, 0), dt.time(16, 0))],
    ),
    "Engineer Sam": (
        Resource.Kind.PERSON,
        "Recording and mix engineer, ten years behind the desk.",
        [(range(5), dt.time(9, 0), dt.time(17, 0)), (range(5, 6), dt.time(12, 0), dt.time(18, 0))],
    ),
}

# slug → (name, minutes, price, resource names, description)
SERVICES: dict[str, tuple[str, int, int, list[str], str]] = {
    "recording-session": (
        "Recording session",
        120,
        12000,
        ["Studio A", "Engineer Sam"],
        "Two hours of tracking in Studio A or with Sam at the desk.",
    ),
    "mixing": ("Mixing", 60, 6000, ["Engineer Sam"], "An hour of mixing on your stems, with notes to take home."),
    "production-lesson": (
        "Production lesson",
        90,
        7500,
        ["Studio A", "Engineer Sam"],
        "One-to-one lesson: arrangement, sound design or mixing — your choice.",
    ),
}

# slug → (title, bpm, key, basic, premium, exclusive) in cents
BEATS: list[tuple[str, str, int, str, int, int, int]] = [
    ("midnight-drive", "Midnight Drive", 92, "A minor", 2999, 7999, 49900),
    ("neon-rain", "Neon Rain", 140, "F minor", 2999, 8999, 59900),
    ("golden-hour", "Golden Hour", 85, "D major", 2499, 6999, 39900),
    ("cold-concrete", "Cold Concrete", 96, "C minor", 3499, 9999, 79900),
    ("paper-planes", "Paper Planes", 120, "G major", 1999, 5999, 29900),
    ("velvet-smoke", "Velvet Smoke", 70, "E♭ minor", 3999, 11999, 99900),
]

VINYL = ("vinyl-night-sessions-lp", "Vinyl: Night Sessions LP", 2800)
VINYL_STOCK, VINYL_WEIGHT_GRAMS = 25, 320  # a 180 g record in its sleeve and mailer

LICENSE_TERMS = {
    License.Tier.BASIC: ("Basic lease", "MP3, up to 10,000 streams, credit required."),
    License.Tier.PREMIUM: ("Premium lease", "WAV + stems, up to 500,000 streams, credit required."),
    License.Tier.EXCLUSIVE: ("Exclusive", "Full ownership transfer; the beat comes off sale."),
}


def demo_audio(frequency: float, seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A short, quiet sine tone as an 8-bit mono WAV: small, and it plays."""
    frames = bytes(int(128 + 40 * math.sin(2 * math.pi * frequency * n / rate)) for n in range(int(rate * seconds)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


def ensure_file(name: str, content: bytes) -> str:
    """Store `content` at `name` under MEDIA_ROOT unless it is already there; return the stored name."""
    if default_storage.exists(name):
        return name
    return str(default_storage.save(name, ContentFile(content)))


class Command(BaseCommand):
    help = "Create or update the demo catalog (courses, services on resources, beats with licenses, a vinyl)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            courses = self.seed_courses()
            resources, hours = self.seed_resources()
            services = self.seed_services(resources)
            products, licenses = self.seed_products()
            zones_ensure_defaults()  # goods ship: the default zones, unless the operator has their own
        self.stdout.write(
            f"Seeded {courses} courses, {len(resources)} resources ({hours} opening hours), "
            f"{services} services, {products} products ({licenses} licenses)."
        )

    def seed_courses(self) -> int:
        tz = business_time_zone()
        today = timezone.now().astimezone(tz).date()
        for seed in COURSES:
            day = today + dt.timedelta(days=seed.days_from_today)
            starts_at = dt.datetime.combine(day, dt.time(seed.start_hour), tzinfo=tz)
            Course.objects.update_or_create(
                slug=seed.slug,
                defaults={
                    "title": seed.title,
                    "description": seed.description,
                    "starts_at": starts_at,
                    "ends_at": starts_at + dt.timedelta(hours=seed.hours),
                    "location": seed.location,
                    "capacity": seed.capacity,
                    "price_amount": seed.price,
                    "currency": CURRENCY,
                    "published": True,
                },
            )
        return len(COURSES)

    def seed_resources(self) -> tuple[dict[str, Resource], int]:
        resources: dict[str, Resource] = {}
        hours_count = 0
        for name, (kind, description, weekly) in RESOURCES.items():
            resource, _ = Resource.objects.update_or_create(
                name=name, defaults={"kind": kind, "description": description, "active": True}
            )
            resources[name] = resource
            wanted = {(weekday, opens, closes) for weekdays, opens, closes in weekly for weekday in weekdays}
            for hours in resource.opening_hours.all():
                if (hours.weekday, hours.opens_at, hours.closes_at) not in wanted:
                    hours.delete()
            for weekday, opens, closes in sorted(wanted):
                OpeningHours.objects.get_or_create(resource=resource, weekday=weekday, opens_at=opens, closes_at=closes)
            hours_count += len(wanted)
        return resources, hours_count

    def seed_services(self, resources: dict[str, Resource]) -> int:
        for slug, (name, minutes, price, resource_names, description) in SERVICES.items():
            service, _ = Service.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "description": description,
                    "duration_minutes": minutes,
                    "price_amount": price,
                    "currency": CURRENCY,
                    "published": True,
                },
            )
            service.resources.set([resources[name] for name in resource_names])
        return len(SERVICES)

    def seed_products(self) -> tuple[int, int]:
        license_count = 0
        for index, (slug, title, bpm, key, basic, premium, exclusive) in enumerate(BEATS):
            file_name = ensure_file(f"products/{slug}.wav", demo_audio(220.0 * (1 + index / 4)))
            product, _ = Product.objects.update_or_create(
                slug=slug,
                defaults={
                    "title": title,
                    "kind": Product.Kind.DIGITAL,
                    "description": f"{bpm} BPM, {key}. Tagged preview; the license delivers the untagged file.",
                    "price_amount": None,
                    "currency": CURRENCY,
                    "published": True,
                    "file": file_name,
                },
            )
            tiers = [(License.Tier.BASIC, basic), (License.Tier.PREMIUM, premium), (License.Tier.EXCLUSIVE, exclusive)]
            for tier, price in tiers:
                name, terms = LICENSE_TERMS[tier]
                License.objects.update_or_create(
                    product=product,
                    tier=tier,
                    defaults={
                        "name": name,
                        "terms": terms,
                        "price_amount": price,
                        "exclusive": tier == License.Tier.EXCLUSIVE,
                        "active": True,
                    },
                )
                license_count += 1
        slug, title, price = VINYL
        Product.objects.update_or_create(
            slug=slug,
            defaults={
                "title": title,
                "kind": Product.Kind.PHYSICAL,
                "description": "180 g vinyl, twelve instrumentals from the catalog, in a gatefold sleeve.",
                "price_amount": price,
                "currency": CURRENCY,
                "stock": VINYL_STOCK,
                "weight_grams": VINYL_WEIGHT_GRAMS,
                "published": True,
            },
        )
        return len(BEATS) + 1, license_count
