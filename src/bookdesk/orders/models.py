"""Orders, their lines, and what each line holds or fulfils: a Booking, a Reservation or a Grant."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from bookdesk.catalog.models import Course, License, Product, Resource, Service, product_line_label
from bookdesk.countries import country_name
from bookdesk.money import CURRENCY_CHOICES

# Unambiguous characters for public order codes (no 0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_order_code() -> str:
    return "BD-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Awaiting payment"
    PROCESSING = "processing", "Payment processing"
    PAID = "paid", "Paid"
    CONFIRMED = "confirmed", "Confirmed"
    FAILED = "failed", "Payment failed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    NEEDS_REVIEW = "needs_review", "Needs review"


class OrderKind(models.TextChoices):
    COURSE_BOOKING = "course_booking", "Course booking"
    RESERVATION_PAYMENT = "reservation_payment", "Studio reservation"
    BEATS_ONLY = "beats_only", "Products"
    MIXED_CART = "mixed_cart", "Mixed cart"


class HoldStatus(models.TextChoices):
    """The life of what an order line holds: a seat, a slot or a license."""

    HELD = "held", "Held"
    CONFIRMED = "confirmed", "Confirmed"
    RELEASED = "released", "Released"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_HOLD = (HoldStatus.HELD, HoldStatus.CONFIRMED)


class Order(models.Model):
    code = models.CharField(max_length=16, unique=True, default=new_order_code, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    email = models.EmailField()
    kind = models.CharField(max_length=24, choices=OrderKind.choices)
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    subtotal_amount = models.BigIntegerField()
    tax_amount = models.BigIntegerField(default=0)
    shipping_amount = models.BigIntegerField(default=0)
    total_amount = models.BigIntegerField()
    amount_refunded = models.BigIntegerField(default=0)
    hold_expires_at = models.DateTimeField(db_index=True)
    review_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_user_recent"),
            # The console's attention list: orders under review, oldest change first.
            models.Index(fields=["status", "updated_at"], name="order_status_updated"),
            # The sales roll-up finds the days that changed since it last looked, and sums those days again
            # (payments/sales_days.py).
            models.Index(fields=["updated_at"], name="order_updated"),
            models.Index(fields=["created_at"], name="order_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(subtotal_amount__gte=0, tax_amount__gte=0, shipping_amount__gte=0, amount_refunded__gte=0),
                name="order_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(total_amount__gte=F("subtotal_amount") + F("shipping_amount")),
                name="order_total_covers_subtotal_and_shipping",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=F("total_amount")), name="order_refund_within_total"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class OrderLine(models.Model):
    class Kind(models.TextChoices):
        COURSE = "course", "Course seat"
        SERVICE = "service", "Studio time"
        PRODUCT = "product", "Product"

    class Status(models.TextChoices):
        """A line once paid stays active until it is cancelled (refunded under its kind's policy, or not)."""

        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField(default=1)
    unit_amount = models.BigIntegerField()
    total_amount = models.BigIntegerField()
    # The line's tax as priced (orders.pricing): its rate in basis points and amount, rounded per line.
    tax_rate = models.PositiveIntegerField(default=0)
    tax_amount = models.BigIntegerField(default=0)
    course = models.ForeignKey(Course, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    license = models.ForeignKey(License, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # What was refunded for this line (its price with its tax share, times the policy's share); never twice.
    amount_refunded = models.BigIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(amount_refunded__gte=0), name="order_line_refund_non_negative"),
            models.CheckConstraint(condition=Q(unit_amount__gte=0), name="order_line_price_non_negative"),
            models.CheckConstraint(
                condition=Q(total_amount=F("unit_amount") * F("quantity")),
                name="order_line_total_is_unit_times_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} × {self.quantity}"

    @property
    def is_goods(self) -> bool:
        """A product that ships (no licence): held as units of stock, refunded until shipped."""
        return self.kind == OrderLine.Kind.PRODUCT and self.license_id is None

    @property
    def kind_label(self) -> str:
        """ "Course seat", "Studio time", "License" or "Goods" (a product line is one of the last two)."""
        if self.kind == OrderLine.Kind.PRODUCT:
            return product_line_label(licensed=self.license_id is not None)
        return str(self.get_kind_display())

    @property
    def hold(self) -> Booking | Reservation | Grant | StockHold | None:
        """What the line holds, by its kind: its booking, reservation or grant, or the units of goods it holds."""
        hold = getattr(self, LINE_HOLDS[self.kind], None)
        if hold is None and self.is_goods:
            return getattr(self, "stock_hold", None)
        return hold


class Booking(models.Model):
    """A course seat held for, or confirmed to, a customer."""

    line = models.OneToOneField(OrderLine, on_delete=models.CASCADE, related_name="booking")
    # Indexed first in booking_course_status and booking_course_user, not on its own.
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="bookings", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.HELD)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the attendee was checked in at the door (the console's roster); empty until then.
    checked_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "course seat"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["course", "status"], name="booking_course_status"),
            # Whether a customer holds a seat of a course: a roster's page walks its customers by name (user_by_name)
            # and looks each up here.
            models.Index(fields=["course", "user"], include=["status"], name="booking_course_user"),
            # A customer's list, newest first (`bookings.queries.booking_keys`), answered from the index alone.
            models.Index(fields=["user", "-created_at", "-id"], include=["line", "status"], name="booking_user_page"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "user"],
                condition=Q(status__in=ACTIVE_HOLD),
                name="booking_one_active_per_customer_and_course",
            )
        ]

    def __str__(self) -> str:
        return f"{self.course} seat for {self.user} ({self.status})"


class Reservation(models.Model):
    """A time slot of a resource. On PostgreSQL an exclusion constraint forbids overlaps (migration 0002)."""

    line = models.OneToOneField(OrderLine, on_delete=models.CASCADE, related_name="reservation")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="reservations")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="reservations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reservations")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.HELD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "studio booking"
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["resource", "starts_at"], name="reservation_resource_start"),
            models.Index(
                fields=["user", "-created_at", "-id"], include=["line", "status"], name="reservation_user_page"
            ),
            # Every resource's sessions of some days (the console's agenda), ranked without reading the table.
            models.Index(
                fields=["starts_at"], include=["id", "ends_at", "status", "resource", "line"], name="reservation_starts"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="reservation_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M %Z} ({self.status})"


class Grant(models.Model):
    """A license to a digital product: held at checkout, active once paid."""

    line = models.OneToOneField(OrderLine, on_delete=models.CASCADE, related_name="grant")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="grants")
    license = models.ForeignKey(License, on_delete=models.PROTECT, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants")
    exclusive = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.HELD)
    download_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "license sold"
        verbose_name_plural = "licenses sold"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], include=["line", "status"], name="grant_user_page")
        ]
        constraints = [
            # An exclusive license is held or granted at most once, whatever the product's other tiers do.
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(exclusive=True, status__in=ACTIVE_HOLD),
                name="grant_exclusive_once_per_product",
            )
        ]

    def __str__(self) -> str:
        return f"{self.license} for {self.user} ({self.status})"


class StockHold(models.Model):
    """Units of a physical product held for, or sold to, a customer: they count against its stock like seats."""

    line = models.OneToOneField(OrderLine, on_delete=models.CASCADE, related_name="stock_hold")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_holds")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stock_holds")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=HoldStatus.choices, default=HoldStatus.HELD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["product", "status"], name="stock_hold_product_status"),
            # A customer's list, newest first (`bookings.queries.booking_keys`), answered from the index alone.
            models.Index(
                fields=["user", "-created_at", "-id"], include=["line", "status"], name="stock_hold_user_page"
            ),
        ]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="stock_hold_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product} for {self.user} ({self.status})"


class ShipmentStatus(models.TextChoices):
    TO_SHIP = "to_ship", "To ship"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled (every item refunded before shipping)"


def carrier_name(code: str) -> str:
    """A carrier as people know it ("Deutsche Post" for `post`, settings.SHIPPING_CARRIERS), else its code."""
    known = settings.SHIPPING_CARRIERS.get(code)
    return str(known[0]) if known else code.upper()


class Shipment(models.Model):
    """Where an order's goods go (the address the buyer gave on the payment page) and how far they got."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="shipment")
    name = models.CharField(max_length=200)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, help_text="ISO country code.")
    rate_name = models.CharField(max_length=120, help_text="The shipping option the buyer chose.")
    rate_amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    stripe_shipping_rate = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=ShipmentStatus.choices, default=ShipmentStatus.TO_SHIP)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"], name="shipment_status_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(rate_amount__gte=0), name="shipment_rate_non_negative"),
            models.CheckConstraint(
                condition=Q(status__in=["to_ship", "cancelled"]) | ~Q(tracking_number=""),
                name="shipment_shipped_has_tracking",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.code} to {self.city}, {self.country} ({self.status})"

    @property
    def status_label(self) -> str:
        """The status as the customer reads it (the order page and the bookings list show it alike)."""
        return str(ShipmentStatus(self.status).label)

    @property
    def carrier_name(self) -> str:
        return carrier_name(self.carrier)

    @property
    def address_lines(self) -> list[str]:
        """The address as it goes on a parcel, the country by its name."""
        place = " ".join(part for part in (self.postal_code, self.city) if part)
        country = country_name(self.country) if self.country else ""
        return [part for part in (self.name, self.line1, self.line2, place, self.state, country) if part]


class AuditEntry(models.Model):
    """One row per state change: who did what to which object, with what data."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=120, help_text="user:<id>, system, stripe, worker, admin:<id>…")
    action = models.CharField(max_length=64, help_text="Dotted, such as order.paid.")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries")
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        at = timezone.localtime(self.at)
        return f"{at:%Y-%m-%d %H:%M:%S %Z} {self.actor} {self.action} {self.object_type}:{self.object_id}"


# The one-to-one relation that holds what a line of each kind sold.
LINE_HOLDS: dict[str, str] = {
    OrderLine.Kind.COURSE: "booking",
    OrderLine.Kind.SERVICE: "reservation",
    OrderLine.Kind.PRODUCT: "grant",
}
