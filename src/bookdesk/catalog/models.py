"""What the business sells: courses, studio services on resources, and products with license tiers."""

from __future__ import annotations

from django.core.exceptions import ValidationError
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
    tax_rate = models.PositiveIntegerField(null=True, blank=True, help_text=TAX_RATE_HELP)
    published = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Annotated by catalog.selectors: the exclusive license is sold, so the product is off sale;
    # some license is held or sold, so the exclusive one is off sale.
    exclusive_sold: bool
    licensed: bool

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
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return f"/products/{self.pk}"

    @property
    def ships(self) -> bool:
        return self.kind == self.Kind.PHYSICAL

    def clean(self) -> None:
        if self.kind == self.Kind.PHYSICAL and self.price_amount is None:
            raise ValidationError({"price_amount": "A physical product needs a price."})


class License(models.Model):
    """A license tier of a digital product; an exclusive license sells once, then the product is off sale."""

    class Tier(models.TextChoices):
        BASIC = "basic", "Basic lease"
        PREMIUM = "premium", "Premium lease"
        EXCLUSIVE = "exclusive", "Exclusive"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="licenses")
    tier = models.CharField(max_length=16, choices=Tier.choices)
    name = models.CharField(max_length=120)
    terms = models.TextField(blank=True)
    price_amount = models.BigIntegerField(help_text="Price in minor units, in the product's currency.")
    exclusive = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

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
