"""Payment attempts in the admin: read-only, searchable by order code and Stripe ids."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from bookdesk.money import format_money
from bookdesk.payments.models import Payment


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin[Payment]):
    list_display = ["order", "attempt", "status", "amount_shown", "session_id", "expires_at", "created_at"]
    list_filter = ["status", "currency", "created_at"]
    search_fields = ["order__code", "session_id", "payment_intent_id", "order__email"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, obj: Payment) -> str:
        return format_money(obj.amount, obj.currency)
