"""The operators' view of what orders hold and of the audit log; and of courses, whose list shows the seats
left (counted by this layer's `orders.capacity`, which the catalog below it cannot read).

Orders change only through the services (checkout, payments, the worker), so the admin shows them
read-only: an operator sees every state change and never makes one that skips the audit log. The order
itself, with its payments and refunds, is in `payments.admin`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from bookdesk.admin_base import (
    InUseChoicesFilter,
    MoneyInputMixin,
    NoAddDeleteAdmin,
    ReadOnlyAdmin,
    data_display,
    local_time_display,
    money_display,
    truncated_display,
)
from bookdesk.catalog.models import Course
from bookdesk.errors import BookdeskError
from bookdesk.orders.capacity import seats_taken_subquery
from bookdesk.orders.models import AuditEntry, Booking, Grant, Reservation, Shipment, StockHold
from bookdesk.orders.packing_slip import shipment_packing_slip
from bookdesk.orders.shipping import carrier_choices, shipment_mark_delivered, shipment_mark_shipped


@admin.register(Course)
class CourseAdmin(MoneyInputMixin, admin.ModelAdmin[Course]):
    list_display = ["title", "starts_at", "location", "seats_left", "price", "published"]
    list_filter = ["published", "starts_at", "location", ("currency", InUseChoicesFilter)]
    search_fields = ["title", "slug", "description", "location"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "starts_at"
    list_editable = ["published"]
    readonly_fields = ["created_at"]
    money_fields = ("price_amount",)
    price = money_display("price_amount", description="price")
    fields = [
        "title",
        "slug",
        "description",
        ("starts_at", "ends_at"),
        "location",
        "capacity",
        ("price_amount", "currency"),
        "published",
        "created_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        # Same arithmetic as the selectors, without their published-only filter.
        return super().get_queryset(request).annotate(seats_taken=seats_taken_subquery())

    @admin.display(description="seats left")
    def seats_left(self, obj: Course) -> str:
        return f"{max(obj.capacity - getattr(obj, 'seats_taken', 0), 0)} of {obj.capacity}"


class HoldAdmin(ReadOnlyAdmin[Any]):
    list_filter = [("status", InUseChoicesFilter)]
    search_fields = ["line__order__code", "user__email"]
    customer = truncated_display("user.email", 30, description="customer")

    @admin.display(description="order")
    def order(self, obj: Any) -> str:
        return str(obj.line.order.code)


@admin.register(Booking)
class BookingAdmin(HoldAdmin):
    list_display = ["course", "customer", "status", "order", "created_at"]
    list_filter = [("status", InUseChoicesFilter), ("course", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["course", "user", "line__order"]


@admin.register(Reservation)
class ReservationAdmin(HoldAdmin):
    list_display = ["resource", "service", "starts_at", "ends_at", "customer", "status", "order"]
    list_filter = [("status", InUseChoicesFilter), ("resource", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["resource", "service", "user", "line__order"]
    date_hierarchy = "starts_at"


@admin.register(Grant)
class GrantAdmin(HoldAdmin):
    list_display = ["product", "tier", "customer", "exclusive", "status", "download_count", "order"]
    list_filter = [("status", InUseChoicesFilter), "exclusive"]
    list_select_related = ["product", "license", "user", "line__order"]
    tier = truncated_display("license.name", 30, description="license")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin[AuditEntry]):
    list_display = ["at", "actor", "action", "object_type", "object_id", "order", "details"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "order__code", "actor", "action"]
    date_hierarchy = "at"
    list_select_related = ["order"]
    fields = readonly_fields = ("at", "actor", "action", "order", "object_type", "object_id", "full_details")
    details = data_display(length=60, description="details")
    full_details = data_display(length=2000, description="details")


@admin.register(StockHold)
class StockHoldAdmin(HoldAdmin):
    list_display = ["product", "quantity", "user", "status", "created"]
    list_filter = [("status", InUseChoicesFilter)]
    search_fields = ["line__order__code", "user__email", "product__title"]
    created = local_time_display("created_at", description="held at")


class ShipForm(forms.Form):
    carrier = forms.ChoiceField(choices=carrier_choices)
    tracking_number = forms.CharField(max_length=100)


class DeliverForm(forms.Form):
    pass


@admin.register(Shipment)
class ShipmentAdmin(NoAddDeleteAdmin[Shipment]):
    """Orders to ship: the address from Checkout, a packing slip, then shipped (tracking emailed) and delivered.

    Fields are read-only: each step is a service (`orders.shipping`) that writes the audit log."""

    list_display = [
        "order_code", "status", "name", "city", "country", "rate_name", "rate_price", "order_status", "paid_at",
    ]  # fmt: skip
    list_filter = [("status", InUseChoicesFilter), "country", "carrier", "created_at"]
    search_fields = ["order__code", "order__email", "name", "tracking_number"]
    list_select_related = ["order"]
    actions = ["mark_delivered"]
    change_form_template = "admin/orders/shipment/change_form.html"
    readonly_fields = [
        "order", "name", "line1", "line2", "postal_code", "city", "state", "country", "rate_name", "rate_price",
        "stripe_shipping_rate", "status", "carrier", "tracking_number", "tracking_url", "paid_at",
        "shipped", "delivered",
    ]  # fmt: skip
    paid_at = local_time_display("created_at", description="to ship since")
    shipped = local_time_display("shipped_at", description="shipped")
    delivered = local_time_display("delivered_at", description="delivered")
    rate_price = money_display("rate_amount", description="shipping paid")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Shipping steps (ship, deliver) are changes: the operator role has them (accounts.roles).
        return bool(request.user.has_perm("orders.change_shipment"))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]
        return list(self.readonly_fields)

    @admin.display(description="order", ordering="order__code")
    def order_code(self, obj: Shipment) -> str:
        return obj.order.code

    @admin.display(description="order status")
    def order_status(self, obj: Shipment) -> str:
        return obj.order.get_status_display()

    def get_urls(self) -> list[URLPattern]:  # type: ignore[override]
        view = self.admin_site.admin_view
        return [
            path("<int:shipment_id>/packing-slip/", view(self.packing_slip_view), name="orders_shipment_packing_slip"),
            path("<int:shipment_id>/ship/", view(self.ship_view), name="orders_shipment_ship"),
            path("<int:shipment_id>/deliver/", view(self.deliver_view), name="orders_shipment_deliver"),
            *super().get_urls(),
        ]

    def packing_slip_view(self, request: HttpRequest, shipment_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order"), pk=shipment_id)
        response = HttpResponse(shipment_packing_slip(shipment), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="packing-slip-{shipment.order.code}.pdf"'
        return response

    def ship_view(self, request: HttpRequest, shipment_id: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order"), pk=shipment_id)
        form = ShipForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                shipment_mark_shipped(
                    shipment_id=shipment.pk,
                    carrier=form.cleaned_data["carrier"],
                    tracking_number=form.cleaned_data["tracking_number"],
                    actor=f"admin:{request.user.pk}",
                )
            except BookdeskError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(request, f"{shipment.order.code}: shipped; tracking emailed.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:orders_shipment_change", args=[shipment.pk]))
        return self._step_page(request, shipment, form, title=f"Ship order {shipment.order.code}", deliver=False)

    def deliver_view(self, request: HttpRequest, shipment_id: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        shipment = get_object_or_404(Shipment.objects.select_related("order"), pk=shipment_id)
        form = DeliverForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                shipment_mark_delivered(shipment_id=shipment.pk, actor=f"admin:{request.user.pk}")
            except BookdeskError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(request, f"{shipment.order.code}: delivered.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:orders_shipment_change", args=[shipment.pk]))
        return self._step_page(request, shipment, form, title=f"Order {shipment.order.code} delivered", deliver=True)

    def _step_page(
        self, request: HttpRequest, shipment: Shipment, form: forms.Form, *, title: str, deliver: bool
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "shipment": shipment,
            "form": form,
            "deliver": deliver,
            "title": title,
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, "admin/orders/shipment/ship.html", context, status=status)

    @admin.action(description="Mark the selected shipments delivered")
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Shipment]) -> None:
        for shipment in queryset.select_related("order"):
            try:
                shipment_mark_delivered(shipment_id=shipment.pk, actor=f"admin:{request.user.pk}")
                self.message_user(request, f"{shipment.order.code}: delivered.", messages.SUCCESS)
            except BookdeskError as exc:
                self.message_user(request, f"{shipment.order.code}: {exc.detail}", messages.ERROR)
