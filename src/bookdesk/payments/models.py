"""Payment attempts (one Stripe Checkout Session each) and refunds."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from bookdesk.money import CURRENCY_CHOICES
from bookdesk.orders.models import Order


class Payment(models.Model):
    """One Checkout Session attempt of an order. At most one attempt of an order is open at a time."""

    class Status(models.TextChoices):
        CREATING = "creating", "Creating session"
        OPEN = "open", "Open"
        PROCESSING = "processing", "Processing"
        PAID = "paid", "Paid"
        # Paid, but not needed (a second payment of the order, or a late one whose capacity is gone):
        # to be refunded in full; REFUNDED once Stripe accepted the refund.
        REFUNDING = "refunding", "Being refunded"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        REFUNDED = "refunded", "Refunded"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    attempt = models.PositiveIntegerField()
    session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATING)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount_received = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField()
    # Goods: the shipping options this attempt's session offered, in the session's order, and the goods'
    # share of `amount` (`amount` = goods + the cheapest option; the buyer's choice settles it).
    shipping_quote = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["order", "attempt"], name="payment_attempt_unique_per_order"),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=["creating", "open"]),
                name="payment_one_open_attempt_per_order",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.order.code} attempt {self.attempt} ({self.status})"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    stripe_refund_id = models.CharField(max_length=255, unique=True)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"{self.stripe_refund_id} ({self.amount} {self.currency})"


class WebhookEvent(models.Model):
    """The inbox: every Stripe event we accepted, once (its id is unique), with what became of it."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed (will retry)"
        DEAD = "dead", "Dead"

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    livemode = models.BooleanField(default=False)
    stripe_created = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    outcome = models.CharField(max_length=300, blank=True, help_text="What processing did, in a few words.")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type} ({self.status})"
