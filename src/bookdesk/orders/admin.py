"""The operators' view of orders: what was bought, what it holds, its payments and its audit trail.

Orders change only through the services (checkout, payments, the worker), so the admin shows them
read-only: an operator sees every state change and never makes one that skips the audit log.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from bookdesk.admin_base import NoAddDeleteAdmin, ReadOnlyAdmin
from bookdesk.errors import BookdeskError
from bookdesk.money import format_money
from bookdesk.orders.models import AuditEntry, Booking, Grant, Order, OrderLine, Reservation
from bookdesk.payments.models import Payment
from bookdesk.payments.refunds import REFUNDABLE, refund_order


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
            "refundable": order.status in REFUNDABLE,
            "title": f"Refund {order.code}",
        }
        return TemplateResponse(request, "admin/orders/order/refund.html", context)


class RefundForm(forms.Form):
    amount = forms.IntegerField(min_value=1, help_text="In minor units (cents), at most what is left.")
    reason = forms.CharField(max_length=200)


class HoldAdmin(ReadOnlyAdmin[Any]):
    list_filter = ["status"]
    search_fields = ["line__order__code", "user__email"]

    @admin.display(description="order")
    def order(self, obj: Any) -> str:
        return str(obj.line.order.code)


@admin.register(Booking)
class BookingAdmin(HoldAdmin):
    list_display = ["course", "user", "status", "order", "created_at"]
    list_filter = ["status", "course"]
    list_select_related = ["course", "user", "line__order"]


@admin.register(Reservation)
class ReservationAdmin(HoldAdmin):
    list_display = ["resource", "service", "starts_at", "ends_at", "user", "status", "order"]
    list_filter = ["status", "resource"]
    list_select_related = ["resource", "service", "user", "line__order"]
    date_hierarchy = "starts_at"


@admin.register(Grant)
class GrantAdmin(HoldAdmin):
    list_display = ["product", "license", "user", "exclusive", "status", "download_count", "order"]
    list_filter = ["status", "exclusive"]
    list_select_related = ["product", "license", "user", "line__order"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin[AuditEntry]):
    list_display = ["at", "actor", "action", "object_type", "object_id", "order"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "order__code", "actor", "action"]
    date_hierarchy = "at"
    list_select_related = ["order"]
