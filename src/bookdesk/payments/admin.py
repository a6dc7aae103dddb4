"""Payment attempts in the admin: read-only, searchable by order code and Stripe ids."""

from __future__ import annotations

from collections import Counter

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from bookdesk.admin_base import NoAddDeleteAdmin, ReadOnlyAdmin
from bookdesk.money import format_money
from bookdesk.payments.models import Payment, Refund, WebhookEvent
from bookdesk.payments.webhooks import replay


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin[Payment]):
    list_display = ["order", "attempt", "status", "amount_shown", "session_id", "expires_at", "created_at"]
    list_filter = ["status", "currency", "created_at"]
    search_fields = ["order__code", "session_id", "payment_intent_id", "order__email"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, obj: Payment) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(WebhookEvent)
class WebhookEventAdmin(NoAddDeleteAdmin[WebhookEvent]):
    """The dead-letter view: every event with its status, attempts and last error; dead ones can be replayed."""

    list_display = ["stripe_id", "type", "status", "attempts", "outcome", "short_error", "received_at"]
    list_filter = ["status", "type"]
    search_fields = ["stripe_id", "type", "last_error", "outcome"]
    date_hierarchy = "received_at"
    actions = ["replay_events"]
    readonly_fields = [
        "stripe_id",
        "type",
        "status",
        "attempts",
        "next_attempt_at",
        "outcome",
        "last_error",
        "livemode",
        "stripe_created",
        "received_at",
        "processed_at",
        "payload",
    ]

    @admin.display(description="last error")
    def short_error(self, obj: WebhookEvent) -> str:
        return obj.last_error.splitlines()[0][:80] if obj.last_error else ""

    @admin.action(description="Replay the selected events now")
    def replay_events(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        results = Counter(str(replay(event.pk) or "unchanged") for event in queryset)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(results.items()))
        self.message_user(request, f"Replayed: {summary}.", messages.SUCCESS)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin[Refund]):
    list_display = ["stripe_refund_id", "payment", "amount_shown", "status", "reason", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["stripe_refund_id", "payment__order__code"]
    list_select_related = ["payment__order"]

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, obj: Refund) -> str:
        return format_money(obj.amount, obj.currency)
