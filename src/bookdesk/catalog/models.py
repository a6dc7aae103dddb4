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
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text="Units of a physical product the shop has (held and sold ones included)."
    )
    weight_grams = models.PositiveIntegerField(
        null=True, blank=True, help_text="Shipping weight of one unit of a physical product, packed, in grams."
    )
    tax_rate = models.PositiveIntegerField(null=True, blank=True, help_text=TAX_RATE_HELP)
    published = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
