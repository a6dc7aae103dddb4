"""What the business sells: courses, studio services on resources, and products with license tiers."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from bookdesk.money import CURRENCIES, CURRENCY_CHOICES

TAX_RATE_HELP = "Tax rate in basis points (1900 = 19 %); empty: the default rate (TAX_RATE_DEFAULT)."


def _currency_is_valid(prefix: str = "") -> Q:
    return Q(**{f"{prefix}currency__in": CURRENCIES})


class Course(models.Model):
    """A dated course with a fixed number of seats (one seat per customer)."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    capacity = models.PositiveIntegerField()
    price_amount = models.BigIntegerField(help_text="Price in minor units (cents).")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="eur")
    tax_rate = models.PositiveIntegerField(null=True, blank=True, help_text=TAX_RATE_HELP)
    published = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Annotated by catalog.selectors (capacity minus held and booked seats); absent on plain instances.
    seats_left: int

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gt=0), name="course_capacity_positive"),
            models.CheckConstraint(condition=Q(price_amount__gte=0), name="course_price_non_negative"),
            models.CheckConstraint(condition=_currency_is_valid(), name="course_currency_valid"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="course_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return f"/courses/{self.slug}"  # the page path of DESIGN §10

    @property
    def is_past(self) -> bool:
        return self.starts_at <= timezone.now()

    @property
    def is_bookable(self) -> bool:
        """Open for booking at all; whether a seat is left is `seats_left` (see catalog.selectors)."""
        return self.published and not self.is_past

    def clean(self) -> None:
        # The same rule as the check constraint, as a form error the operator can act on.
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "A course must end after it starts."})


class Resource(models.Model):
    """Something a service occupies for a time slot: a studio room, an engineer."""

    class Kind(models.TextChoices):
        ROOM = "room", "Room"
        PERSON = "person", "Person"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ROOM)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """A weekly opening window of a resource, in the business's local time (settings.BOOKDESK_TIME_ZONE)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["resource", "weekday", "opens_at"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="opening_hours_weekday_valid"),
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="opening_hours_close_after_open"),
        ]

    def __str__(self) -> str:
        return f"{self.resource}: {self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"

    def clean(self) -> None:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValidationError({"closes_at": "Closing time must be after opening time (windows end by midnight)."})


class Service(models.Model):
    """Studio time sold as slots of `duration_minutes` on any one of its resources."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveIntegerField()
    price_amount = models.BigIntegerField(help_text="Price per slot in minor units.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="eur")
    tax_rate = models.PositiveIntegerField(null=True, blank=True, help_text=TAX_RATE_HELP)
    resources = models.ManyToManyField(Resource, related_name="services")
    published = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(duration_minutes__gt=0), name="service_duration_positive"),
            models.CheckConstraint(condition=Q(price_amount__gte=0), name="service_price_non_negative"),
            models.CheckConstraint(condition=_currency_is_valid(), name="service_currency_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/services/{self.pk}"


BPM_MIN, BPM_MAX = 40, 300


class Genre(models.TextChoices):
    HIP_HOP = "hip-hop", "Hip-hop"
    TRAP = "trap", "Trap"
    BOOM_BAP = "boom-bap", "Boom bap"
    DRILL = "drill", "Drill"
    RNB = "rnb", "R&B"
    LOFI = "lo-fi", "Lo-fi"
    POP = "pop", "Pop"
    AFROBEATS = "afrobeats", "Afrobeats"
    DANCEHALL = "dancehall", "Dancehall"
    HOUSE = "house", "House"
    ROCK = "rock", "Rock"


class Mood(models.TextChoices):
    DARK = "dark", "Dark"
    CHILL = "chill", "Chill"
    ENERGETIC = "energetic", "Energetic"
    HAPPY = "happy", "Happy"
    SAD = "sad", "Sad"
    AGGRESSIVE = "aggressive", "Aggressive"
    ROMANTIC = "romantic", "Romantic"
    DREAMY = "dreamy", "Dreamy"


class MusicalKey(models.TextChoices):
    """The 24 keys as producers write them: "C", "F#", "Am", "C#m"."""

    C_MAJOR = "C", "C major"
    C_SHARP_MAJOR = "C#", "C♯ major"
    D_MAJOR = "D", "D major"
    E_FLAT_MAJOR = "Eb", "E♭ major"
    E_MAJOR = "E", "E major"
    F_MAJOR = "F", "F major"
    F_SHARP_MAJOR = "F#", "F♯ major"
    G_MAJOR = "G", "G major"
    A_FLAT_MAJOR = "Ab", "A♭ major"
    A_MAJOR = "A", "A major"
    B_FLAT_MAJOR = "Bb", "B♭ major"
    B_MAJOR = "B", "B major"
    C_MINOR = "Cm", "C minor"
    C_SHARP_MINOR = "C#m", "C♯ minor"
    D_MINOR = "Dm", "D minor"
    E_FLAT_MINOR = "Ebm", "E♭ minor"
    E_MINOR = "Em", "E minor"
    F_MINOR = "Fm", "F minor"
    F_SHARP_MINOR = "F#m", "F♯ minor"
    G_MINOR = "Gm", "G minor"
    G_SHARP_MINOR = "G#m", "G♯ minor"
    A_MINOR = "Am", "A minor"
    B_FLAT_MINOR = "Bbm", "B♭ minor"
    B_MINOR = "Bm", "B minor"


class AudioStatus(models.TextChoices):
    """Where a beat's derived audio (MP3, tagged preview, waveform) stands; the worker claims `pending`."""

    NONE = "none", "No master"
    PENDING = "pending", "Waiting for the worker"
    RUNNING = "running", "Deriving"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


def product_line_label(*, licensed: bool) -> str:
    """A product in a cart, an order or the sales, as the shop says it: a license (of a beat) or goods."""
    return "License" if licensed else "Goods"


class Product(models.Model):
    """A digital good (a beat, sold through license tiers) or a physical one that ships."""

    class Kind(models.TextChoices):
        DIGITAL = "digital", "Digital"
        PHYSICAL = "physical", "Physical"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DIGITAL)
    description = models.TextField(blank=True)
    file = models.FileField(upload_to="products/", blank=True, help_text="The delivered file of a digital product.")
    price_amount = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Price of a physical product in minor units; digital ones are priced by license.",
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="eur")
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text="Units of a physical product the shop has (held and sold ones included)."
    )
    weight_grams = models.PositiveIntegerField(
        null=True, blank=True, help_text="Shipping weight of one unit of a physical product, packed, in grams."
    )
    tax_rate = models.PositiveIntegerField(null=True, blank=True, help_text=TAX_RATE_HELP)
    published = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # A beat: what producers and artists browse by, the files the operator uploads, and what the worker
    # derives from them (catalog.audio_services; never in a request).
    genre = models.CharField(max_length=24, choices=Genre.choices, blank=True, db_index=True)
    mood = models.CharField(max_length=24, choices=Mood.choices, blank=True, db_index=True)
    bpm = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        db_index=True,
        validators=[MinValueValidator(BPM_MIN), MaxValueValidator(BPM_MAX)],
        help_text=f"Tempo in beats per minute ({BPM_MIN}–{BPM_MAX}).",
    )
    musical_key = models.CharField("key", max_length=4, choices=MusicalKey.choices, blank=True, db_index=True)
    cover = models.FileField(upload_to="covers/", blank=True, help_text="Cover art: PNG or JPEG.")
    master = models.FileField(
        upload_to="masters/", blank=True, help_text="The untagged master, WAV or FLAC; the WAV deliverable."
    )
    stems = models.FileField(upload_to="stems/", blank=True, help_text="The track stems as one ZIP archive.")
    duration_seconds = models.PositiveIntegerField(null=True, blank=True, editable=False)
    mp3 = models.FileField(upload_to="derived/", blank=True, editable=False)
    preview = models.FileField(upload_to="derived/", blank=True, editable=False)
    waveform = models.JSONField(default=list, blank=True, editable=False)
    audio_status = models.CharField(
        max_length=16, choices=AudioStatus.choices, default=AudioStatus.NONE, db_index=True, editable=False
    )
    audio_error = models.TextField(blank=True, editable=False)
    audio_updated_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Annotated by catalog.selectors: the exclusive license is sold, so the product is off sale;
    # some license is held or sold, so the exclusive one is off sale.
    exclusive_sold: bool
    licensed: bool
    # Annotated by orders.availability for physical goods: stock minus units held and sold.
    stock_left: int | None

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_amount__isnull=True) | Q(price_amount__gte=0), name="product_price_non_negative"
            ),
            models.CheckConstraint(condition=_currency_is_valid(), name="product_currency_valid"),
            models.CheckConstraint(
                condition=Q(kind="digital") | Q(price_amount__isnull=False), name="product_physical_has_price"
            ),
            models.CheckConstraint(
                condition=Q(bpm__isnull=True) | Q(bpm__gte=BPM_MIN, bpm__lte=BPM_MAX), name="product_bpm_in_range"
            ),
            # Goods are counted and weighed: stock and weight are required of a physical product.
            models.CheckConstraint(
                condition=Q(kind="digital") | Q(stock__isnull=False, weight_grams__isnull=False),
                name="product_physical_has_stock_and_weight",
            ),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="product_stock_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(weight_grams__isnull=True) | Q(weight_grams__gte=0), name="product_weight_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return f"/products/{self.pk}"

    @property
    def ships(self) -> bool:
        return self.kind == self.Kind.PHYSICAL

    @property
    def preview_url(self) -> str | None:
        """The public, seekable tagged preview (`web.media`), or None before the worker made one."""
        return _media_url(self.preview, f"/products/{self.pk}/preview.mp3")

    @property
    def cover_url(self) -> str | None:
        return _media_url(self.cover, f"/products/{self.pk}/cover")

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == self.Kind.PHYSICAL:
            if self.price_amount is None:
                errors["price_amount"] = "A physical product needs a price."
            if self.stock is None:
                errors["stock"] = "A physical product needs its stock (0 when none is left)."
            if self.weight_grams is None:
                errors["weight_grams"] = "A physical product needs its shipping weight in grams."
        if errors:
            raise ValidationError(errors)


def _media_url(field: models.fields.files.FieldFile, path: str) -> str | None:
    """`path` with a digest of the stored file's name, which changes with each upload or derivation: a page
    never plays yesterday's preview out of a cache (a failed derivation keeps the previous files)."""
    if not field:
        return None
    return f"{path}?v={hashlib.sha256((field.name or '').encode()).hexdigest()[:10]}"


class License(models.Model):
    """A license tier of a digital product; an exclusive license sells once, then the product is off sale."""

    class Tier(models.TextChoices):
        BASIC = "basic", "Basic lease"
        PREMIUM = "premium", "Premium lease"
        EXCLUSIVE = "exclusive", "Exclusive"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="licenses")
    tier = models.CharField(max_length=16, choices=Tier.choices)
    name = models.CharField(max_length=120)
    terms = models.TextField(blank=True, help_text="Further terms in words, shown with the figures below.")
    price_amount = models.BigIntegerField(help_text="Price in minor units, in the product's currency.")
    exclusive = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    # What the tier delivers (a subset of Deliverable) and on what terms; an empty limit is unlimited.
    deliverables = models.JSONField(default=list, blank=True, help_text="Any of: mp3, wav, stems.")
    streams_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Audio streams; empty: unlimited.")
    copies_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Sold copies (downloads, CDs); empty: unlimited."
    )
    music_videos_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Music videos; empty: unlimited.")
    radio_stations_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Radio stations it may be played on; empty: unlimited."
    )
    credit_required = models.BooleanField(default=True, help_text="The producer must be credited.")

    class Meta:
        ordering = ["product", "price_amount", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "tier"], name="license_one_per_tier"),
            models.CheckConstraint(condition=Q(price_amount__gte=0), name="license_price_non_negative"),
            models.CheckConstraint(
                condition=~Q(tier="exclusive") | Q(exclusive=True), name="license_exclusive_tier_is_exclusive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} — {self.name}"

    def clean(self) -> None:
        if self.tier == self.Tier.EXCLUSIVE and not self.exclusive:
            raise ValidationError({"exclusive": "The exclusive tier must be marked exclusive."})
        problem = deliverables_problem(self.deliverables)
        if problem:
            raise ValidationError({"deliverables": problem})

    @property
    def deliverable_list(self) -> list[str]:
        """The deliverables in their canonical order (mp3, wav, stems)."""
        chosen = set(self.deliverables or [])
        return [kind for kind in DELIVERABLE_ORDER if kind in chosen]

    @property
    def terms_summary(self) -> dict[str, Any]:
        return {
            "streams": self.streams_limit,
            "copies": self.copies_limit,
            "music_videos": self.music_videos_limit,
            "radio_stations": self.radio_stations_limit,
            "credit_required": self.credit_required,
            "notes": self.terms,
        }


class Deliverable(models.TextChoices):
    MP3 = "mp3", "MP3 (320 kbps)"
    WAV = "wav", "WAV (untagged master)"
    STEMS = "stems", "Stems (ZIP)"


DELIVERABLE_ORDER = tuple(Deliverable.values)  # read per licence shown: the enum builds its list each time


def deliverables_problem(value: object) -> str | None:
    """Why `value` is not a list of distinct deliverables, or None when it is one."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return "Give a list of deliverables: mp3, wav, stems."
    unknown = sorted(set(value) - set(Deliverable.values))
    if unknown:
        return f"Unknown deliverable {', '.join(unknown)}: choose from mp3, wav, stems."
    if len(set(value)) != len(value):
        return "Each deliverable once."
    return None


class VoiceTag(models.Model):
    """The producer's voice tag (one row): mixed into every tagged preview by the worker."""

    file = models.FileField(upload_to="voice-tags/", help_text="A short spoken tag, WAV or FLAC.")
    interval_seconds = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(3), MaxValueValidator(120)],
        help_text="The tag plays this often in a preview (seconds).",
    )
    gain = models.FloatField(
        default=0.8, validators=[MinValueValidator(0.05), MaxValueValidator(2.0)], help_text="Loudness of the tag."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "voice tag"

    def __str__(self) -> str:
        return "Voice tag"


def _country_codes(text: str) -> list[str]:
    return [code.strip().upper() for code in text.replace(";", ",").split(",") if code.strip()]


class ShippingZone(models.Model):
    """Countries shipped to at the same rates (one Checkout shipping option per zone and service)."""

    name = models.CharField(max_length=80, unique=True, help_text="Shown to the buyer, e.g. “Germany”, “EU”.")
    countries = models.CharField(
        max_length=1000, help_text="ISO country codes, comma separated (each among settings.SHIPPING_COUNTRIES)."
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="eur")
    free_shipping_over = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Goods worth this (minor units) or more ship free (cheapest service); empty: never.",
    )
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order of the options on the payment page.")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(free_shipping_over__isnull=True) | Q(free_shipping_over__gte=0),
                name="shipping_zone_threshold_non_negative",
            ),
            models.CheckConstraint(condition=_currency_is_valid(), name="shipping_zone_currency_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def country_list(self) -> list[str]:
        return _country_codes(self.countries)

    def clean(self) -> None:
        from django.conf import settings

        codes = self.country_list
        if not codes:
            raise ValidationError({"countries": "List at least one country code."})
        allowed = set(settings.SHIPPING_COUNTRIES)
        unknown = [code for code in codes if code not in allowed]
        if unknown:
            raise ValidationError(
                {"countries": f"Not among the countries the shop ships to (SHIPPING_COUNTRIES): {', '.join(unknown)}."}
            )
        self.countries = ",".join(dict.fromkeys(codes))


class ShippingRate(models.Model):
    """What a service costs in a zone for parcels up to a weight (a weight band)."""

    zone = models.ForeignKey(ShippingZone, on_delete=models.CASCADE, related_name="rates")
    name = models.CharField(max_length=80, default="Standard", help_text="The service, e.g. Standard, Express.")
    max_weight_grams = models.PositiveIntegerField(help_text="The band covers parcels up to this weight.")
    amount = models.BigIntegerField(help_text="Price in minor units, in the zone's currency.")
    min_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Delivery estimate, business days.")
    max_days = models.PositiveSmallIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["zone", "name", "max_weight_grams", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="shipping_rate_amount_non_negative"),
            models.CheckConstraint(condition=Q(max_weight_grams__gt=0), name="shipping_rate_weight_positive"),
            models.UniqueConstraint(fields=["zone", "name", "max_weight_grams"], name="shipping_rate_one_per_band"),
        ]

    def __str__(self) -> str:
        return f"{self.zone} {self.name} ≤ {self.max_weight_grams} g"

    def clean(self) -> None:
        if self.min_days is not None and self.max_days is not None and self.max_days < self.min_days:
            raise ValidationError({"max_days": "The latest delivery cannot be before the earliest."})
