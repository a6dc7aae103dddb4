"""The email outbox: one row per email, rendered when queued, sent (and retried) by the worker."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from bookdesk.orders.models import Grant, Order


class OutgoingEmail(models.Model):
    """An email to send exactly once per `key` (such as `order:BD-7K3QX:confirmation`)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will retry)"
        DEAD = "dead", "Dead (gave up)"

    key = models.CharField(max_length=200, unique=True)
    to = models.EmailField()
    subject = models.CharField(max_length=300)
    text_body = models.TextField()
    html_body = models.TextField(blank=True)
    # [{"filename": …, "content_base64": …, "mimetype": …}], rendered when queued like the bodies.
    attachments = models.JSONField(default=list, blank=True)
    # SET_NULL: the outbox keeps its history even if an order is ever deleted.
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "email"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="email_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sent", "failed", "dead"]), name="email_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False), name="email_sent_has_sent_at"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.to} ({self.status})"


class LicenceAgreement(models.Model):
    """The licence agreement PDF of one confirmed grant: made once when its order is confirmed, then served."""

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name="agreement")
    number = models.CharField(max_length=40, unique=True, help_text="The licence number printed on the agreement.")
    licensee = models.CharField(max_length=200)
    file = models.FileField(upload_to="licences/")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number
