"""Orders with their money in the admin: each order with its lines, payment attempts and audit trail, refunds
in full or in part (through Stripe); payment attempts, refunds and the webhook inbox, read-only and searchable.

Orders change only through the services (checkout, payments, the worker), so the admin shows them
read-only: an operator sees every state change and never makes one that skips the audit log.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from bookdesk.admin_base import NoAddDeleteAdmin, ReadOnlyAdmin, ReadOnlyInline
from bookdesk.errors import BookdeskError
from bookdesk.money import format_money
from bookdesk.orders import states
from bookdesk.orders.models import AuditEntry, Order, OrderLine
from bookdesk.payments.models import CreditNote, Invoice, Payment, ReconcileRun, Refund, WebhookEvent
from bookdesk.payments.refunds import refund_order
from bookdesk.payments.webhooks import replay


class LineInline(ReadOnlyInline):
    model = OrderLine
    fields = readonly_fields = ("kind", "description", "quantity", "unit_amount", "total_amount")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = readonly_fields = (
        "attempt",
        "status",
        "session_id",
        "amount",
        "amount_received",
        "expires_at",
        "created_at",
    )


class AuditInline(ReadOnlyInline):
    model = AuditEntry
    fields = readonly_fields = ("at", "actor", "action", "data")


@admin.register(Order)
class OrderAdmin(NoAddDeleteAdmin[Order]):
    list_display = ["code", "email", "kind", "status", "total", "hold_expires_at", "created_at"]
    list_filter = ["status", "kind", "currency", "created_at"]
    search_fields = ["code", "email", "user__email", "payments__session_id"]
    date_hierarchy = "created_at"
    inlines = [LineInline, PaymentInline, AuditInline]
    actions = ["refund_in_full"]
    change_form_template = "admin/orders/order/change_form.html"
    readonly_fields = [
        "code",
        "user",
        "email",
        "kind",
        "status",
        "currency",
        "subtotal_amount",
        "tax_amount",
        "shipping_amount",
        "total_amount",
        "amount_refunded",
        "hold_expires_at",
        "review_reason",
        "created_at",
        "updated_at",
    ]

    @admin.display(description="total", ordering="total_amount")
    def total(self, obj: Order) -> str:
        return format_money(obj.total_amount, obj.currency)

    def get_urls(self) -> list[URLPattern]:  # type: ignore[override]
        refund = self.admin_site.admin_view(self.refund_view)
        return [path("<int:order_id>/refund/", refund, name="orders_order_refund"), *super().get_urls()]

    @admin.action(description="Refund the selected orders in full (through Stripe)")
    def refund_in_full(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for order in queryset:
            try:
                refund_order(order=order, amount=None, actor=f"admin:{request.user.pk}", reason="refunded by staff")
                self.message_user(request, f"{order.code}: refunded in full.", messages.SUCCESS)
            except BookdeskError as exc:
                self.message_user(request, f"{order.code}: {exc.detail}", messages.ERROR)

    def refund_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """A full or partial refund of one order, with the amount in minor units."""
        order = get_object_or_404(Order, pk=order_id)
        paid = sum(p.amount_received for p in order.payments.filter(status=Payment.Status.PAID))
        left = paid - order.amount_refunded
        form = RefundForm(request.POST or None, initial={"amount": left, "reason": "refunded by staff"})
        if request.method == "POST" and form.is_valid():
            try:
                refund_order(
                    order=order,
                    amount=form.cleaned_data["amount"],
                    actor=f"admin:{request.user.pk}",
                    reason=form.cleaned_data["reason"],
                )
            except BookdeskError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(request, f"{order.code}: refund sent to Stripe.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "order": order,
            "paid": paid,
            "left": left,
            "form": form,
            "refundable": order.status in states.REFUNDABLE,
            "title": f"Refund {order.code}",
        }
        return TemplateResponse(request, "admin/orders/order/refund.html", context)


class RefundForm(forms.Form):
    amount = forms.IntegerField(min_value=1, help_text="In minor units (cents), at most what is left.")
    reason = forms.CharField(max_length=200)


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


# --- invoices and credit notes: read-only, as issued ---------------------------------------------


class _DocumentAdmin(ReadOnlyAdmin[Any]):
    date_hierarchy = "issued_at"
    exclude = ("pdf",)
    ordering = ("-year", "-sequence")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).defer("pdf")

    @admin.display(description="Buyer")
    def buyer_name(self, obj: Any) -> str:
        return str(obj.buyer.get("name", ""))

    @admin.display(description="Net")
    def net(self, obj: Any) -> str:
        return format_money(obj.net_amount, obj.currency)

    @admin.display(description="Tax")
    def tax(self, obj: Any) -> str:
        return format_money(obj.tax_amount, obj.currency)

    @admin.display(description="Total")
    def total(self, obj: Any) -> str:
        return format_money(obj.total_amount, obj.currency)


@admin.register(Invoice)
class InvoiceAdmin(_DocumentAdmin):
    """Invoices as issued; export a period as CSV at /console/invoices.csv?from=YYYY-MM-DD&to=YYYY-MM-DD."""

    list_display = ("number", "order", "issued_at", "buyer_name", "net", "tax", "total")
    search_fields = ("number", "order__code", "order__email")
    list_select_related = ("order",)


@admin.register(CreditNote)
class CreditNoteAdmin(_DocumentAdmin):
    list_display = ("number", "invoice", "issued_at", "buyer_name", "net", "tax", "total")
    search_fields = ("number", "invoice__number", "stripe_refund_id")
    list_select_related = ("invoice",)


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyAdmin[ReconcileRun]):
    """When the worker last reconciled with Stripe, and what it found (the report)."""

    list_display = ["started_at", "finished_at", "events_seen", "sessions_seen", "fixed", "errors"]
    list_filter = ["started_at"]
    search_fields = ["report"]
