"""The operators' view of what orders hold and of the audit log; and of courses, whose list shows the seats
left (counted by this layer's `orders.capacity`, which the catalog below it cannot read).

Orders change only through the services (checkout, payments, the worker), so the admin shows them
read-only: an operator sees every state change and never makes one that skips the audit log. The order
itself, with its payments and refunds, is in `payments.admin`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from bookdesk.admin_base import (
    InUseChoicesFilter,
    MoneyInputMixin,
    ReadOnlyAdmin,
    data_display,
    money_display,
    truncated_display,
)
from bookdesk.catalog.models import Course
from bookdesk.orders.capacity import seats_taken_subquery
from bookdesk.orders.models import AuditEntry, Booking, Grant, Reservation


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
