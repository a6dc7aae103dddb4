"""`bookdesk seed`: a demo catalog. Idempotent — rows are matched by slug (or natural key) and updated."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from bookdesk.catalog import demo_media
from bookdesk.catalog.audio_services import audio_derive_due, beat_audio_request
from bookdesk.catalog.models import (
    AudioStatus,
    Course,
    License,
    MusicalKey,
    OpeningHours,
    Product,
    Resource,
    Service,
    VoiceTag,
)
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
    # Within the console agenda's first week: the owner's first look at /console/ shows a course to come.
    CourseSeed(
        slug="mixing-fundamentals",
        title="Mixing Fundamentals",
        days_from_today=3,
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


@dataclass(frozen=True)
class BeatSeed:
    slug: str
    title: str
    bpm: int
    key: str
    genre: str
    mood: str
    prices: tuple[int, int, int]  # basic, premium, exclusive, in cents
    description: str


BEATS = [
    BeatSeed("midnight-drive", "Midnight Drive", 92, "Am", "hip-hop", "dark", (2999, 7999, 49900),
             "Late-night boom of a kick, a rolling bassline and soft pads."),
    BeatSeed("neon-rain", "Neon Rain", 140, "Fm", "trap", "energetic", (2999, 8999, 59900),
             "Fast hats and a gliding bass for a hard-hitting verse."),
    BeatSeed("golden-hour", "Golden Hour", 85, "D", "rnb", "romantic", (2499, 6999, 39900),
             "Warm chords and a laid-back groove for a love song."),
    BeatSeed("cold-concrete", "Cold Concrete", 96, "Cm", "boom-bap", "aggressive", (3499, 9999, 79900),
             "Dusty drums and a stubborn bass riff: classic boom bap."),
    BeatSeed("paper-planes", "Paper Planes", 120, "G", "pop", "happy", (1999, 5999, 29900),
             "Bright and bouncy, made for a sing-along hook."),
    BeatSeed("velvet-smoke", "Velvet Smoke", 70, "Ebm", "lo-fi", "chill", (3999, 11999, 99900),
             "Slow, hazy and mellow: study-session lo-fi."),
    BeatSeed("block-party", "Block Party", 102, "Bbm", "afrobeats", "happy", (2499, 7499, 44900),
             "Syncopated kicks and a dancing bassline."),
    BeatSeed("static-dreams", "Static Dreams", 78, "E", "lo-fi", "dreamy", (1999, 5999, 34900),
             "Drifting pads over a lazy swing."),
    BeatSeed("south-side", "South Side", 144, "C#m", "drill", "dark", (3499, 9999, 69900),
             "Sliding bass and skittering hats: UK drill energy."),
    BeatSeed("summer-tape", "Summer Tape", 110, "F", "dancehall", "happy", (2499, 6999, 39900),
             "Sunny one-drop feel with a bubbly bass."),
    BeatSeed("heartbreak-hotel", "Heartbreak Hotel", 66, "G#m", "rnb", "sad", (2999, 8999, 54900),
             "A slow jam for the saddest verse on the record."),
    BeatSeed("after-hours", "After Hours", 124, "A", "house", "energetic", (2999, 7999, 49900),
             "Four-on-the-floor kick, offbeat hats and a deep bass."),
]  # fmt: skip

VINYL = ("vinyl-night-sessions-lp", "Vinyl: Night Sessions LP", 2800)
VINYL_STOCK, VINYL_WEIGHT_GRAMS = 25, 320  # a 180 g record in its sleeve and mailer

# tier → (name, deliverables, streams, copies, music videos, radio stations, notes); None: unlimited.
LICENSE_TIERS: dict[str, tuple[str, list[str], int | None, int | None, int | None, int | None, str]] = {
    License.Tier.BASIC: ("Basic lease", ["mp3"], 10_000, 2_000, 1, 0, "For demos, mixtapes and first releases."),
    License.Tier.PREMIUM: (
        "Premium lease", ["mp3", "wav", "stems"], 500_000, 10_000, 3, 2, "For a proper release, with the stems to mix."
    ),
    License.Tier.EXCLUSIVE: (
        "Exclusive", ["mp3", "wav", "stems"], None, None, None, None,
        "Unlimited use, and the beat is yours alone from then on.",
    ),
}  # fmt: skip
BEAT_SECONDS = 20.0


def ensure_file(name: str, make: Callable[[], bytes]) -> tuple[str, bool]:
    """Store what `make` makes at `name` under MEDIA_ROOT unless it is already there; (stored name, new?)."""
    if default_storage.exists(name):
        return name, False
    return str(default_storage.save(name, ContentFile(make()))), True


class Command(BaseCommand):
    help = "Create or update the demo catalog (courses, services on resources, beats with licenses, a vinyl)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--derive", action="store_true", help="Derive the beats' audio now instead of leaving it to the worker."
        )

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
        if options.get("derive"):
            done = audio_derive_due(limit=1000)
            self.stdout.write(f"Derived the audio of {done} beats.")

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
        self.seed_voice_tag()
        keys = dict(MusicalKey.choices)
        for index, seed in enumerate(BEATS):
            (master, new_master), (cover, _), (stems, _) = beat_files(seed, index, keys)
            product, _ = Product.objects.update_or_create(
                slug=seed.slug,
                defaults={
                    "title": seed.title,
                    "kind": Product.Kind.DIGITAL,
                    "description": seed.description,
                    "price_amount": None,
                    "currency": CURRENCY,
                    "published": True,
                    "file": master,
                    "master": master,
                    "cover": cover,
                    "stems": stems,
                    "genre": seed.genre,
                    "mood": seed.mood,
                    "bpm": seed.bpm,
                    "musical_key": seed.key,
                },
            )
            if new_master or product.audio_status in (AudioStatus.NONE, AudioStatus.FAILED):
                beat_audio_request(product_ids=[product.pk])  # the worker (or --derive) makes the rest
            tiers = (License.Tier.BASIC, License.Tier.PREMIUM, License.Tier.EXCLUSIVE)
            for tier, price in zip(tiers, seed.prices, strict=True):
                name, deliverables, streams, copies, videos, radio, notes = LICENSE_TIERS[tier]
                License.objects.update_or_create(
                    product=product,
                    tier=tier,
                    defaults={
                        "name": name,
                        "terms": notes,
                        "price_amount": price,
                        "exclusive": tier == License.Tier.EXCLUSIVE,
                        "active": True,
                        "deliverables": deliverables,
                        "streams_limit": streams,
                        "copies_limit": copies,
                        "music_videos_limit": videos,
                        "radio_stations_limit": radio,
                        "credit_required": True,
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

    def seed_voice_tag(self) -> None:
        name, _ = voice_tag_file()
        tag = VoiceTag.objects.first() or VoiceTag(interval_seconds=8)
        if tag.file.name != name:
            tag.file.name = name
            tag.save()


def voice_tag_file() -> tuple[str, bool]:
    return ensure_file("voice-tags/demo-tag.wav", lambda: demo_media.wav_bytes(demo_media.voice_tag()))


def beat_files(seed: BeatSeed, index: int, keys: dict[str, str]) -> list[tuple[str, bool]]:
    """The beat's master, cover and stems under MEDIA_ROOT, made unless there: [(stored name, new?)] in that order."""
    subtitle = f"{seed.bpm} BPM · {keys[seed.key]}"
    return [
        ensure_file(f"masters/{seed.slug}.wav", partial(_master, seed, index)),
        ensure_file(
            f"covers/{seed.slug}.png", partial(demo_media.cover_png, title=seed.title, subtitle=subtitle, seed=index)
        ),
        ensure_file(f"stems/{seed.slug}-stems.zip", partial(_stems_zip, seed)),
    ]


def demo_files() -> None:
    """Every file the demo catalog refers to, made under MEDIA_ROOT unless there (no database needed): the
    tests make them once and give each test a copy, as synthesising them takes seconds."""
    voice_tag_file()
    keys = dict(MusicalKey.choices)
    for index, seed in enumerate(BEATS):
        beat_files(seed, index, keys)


def _master(seed: BeatSeed, index: int) -> bytes:
    return demo_media.wav_bytes(demo_media.beat(bpm=seed.bpm, key=seed.key, seconds=BEAT_SECONDS, seed=index))


def _stems_zip(seed: BeatSeed) -> bytes:
    """The stems archive: a short loop's two channels as separate WAVs (the demo's stand-in for real stems)."""
    mix = demo_media.beat(bpm=seed.bpm, key=seed.key, seconds=4.0, seed=len(seed.slug))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{seed.slug}/README.txt", f"{seed.title}: stems at {seed.bpm} BPM, key {seed.key}.\n")
        archive.writestr(f"{seed.slug}/loop-left.wav", demo_media.wav_bytes(mix[:, :1]))
        archive.writestr(f"{seed.slug}/loop-right.wav", demo_media.wav_bytes(mix[:, 1:]))
    return buffer.getvalue()
