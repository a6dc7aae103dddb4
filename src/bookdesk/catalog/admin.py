"""The operators' catalog: resources with opening hours, services, products with licenses.

Courses are in `orders.admin`: their list shows the seats left, which the orders layer counts.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from bookdesk.admin_base import (
    InUseChoicesFilter,
    MoneyInputMixin,
    ParentCurrencyFormSet,
    money_display,
)
from bookdesk.catalog.models import License, OpeningHours, Product, Resource, Service
from bookdesk.money import format_money


class OpeningHoursInline(admin.TabularInline[OpeningHours, Resource]):
    model = OpeningHours
    extra = 1
    fields = ["weekday", "opens_at", "closes_at"]


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin[Resource]):
    list_display = ["name", "kind", "active", "weekly_hours"]
    list_filter = [("kind", InUseChoicesFilter), "active"]
    search_fields = ["name", "description"]
    inlines = [OpeningHoursInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Resource]:
        return super().get_queryset(request).prefetch_related("opening_hours")

    @admin.display(description="opening hours")
    def weekly_hours(self, obj: Resource) -> str:
        return ", ".join(
            f"{hours.get_weekday_display()[:3]} {hours.opens_at:%H:%M}–{hours.closes_at:%H:%M}"
            for hours in obj.opening_hours.all()
        )


@admin.register(Service)
class ServiceAdmin(MoneyInputMixin, admin.ModelAdmin[Service]):
    list_display = ["name", "duration_minutes", "price", "resource_names", "published"]
    list_filter = ["published", ("resources", admin.RelatedOnlyFieldListFilter), ("currency", InUseChoicesFilter)]
    money_fields = ("price_amount",)
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["resources"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return super().get_queryset(request).prefetch_related("resources")

    price = money_display("price_amount", description="price")

    @admin.display(description="resources")
    def resource_names(self, obj: Service) -> str:
        return ", ".join(resource.name for resource in obj.resources.all())


class LicenseInline(MoneyInputMixin, admin.TabularInline[License, Product]):
    model = License
    extra = 0
    fields = ["tier", "name", "price_amount", "exclusive", "active", "terms"]
    money_fields = ("price_amount",)
    formset = ParentCurrencyFormSet

    def formfield_for_dbfield(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "terms" and field is not None:
            field.widget.attrs.update(rows=2, cols=30)  # a table cell, not a page
        return field


@admin.register(Product)
class ProductAdmin(MoneyInputMixin, admin.ModelAdmin[Product]):
    list_display = ["title", "kind", "price", "license_prices", "has_file", "published"]
    list_filter = [("kind", InUseChoicesFilter), "published", ("currency", InUseChoicesFilter)]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_at"]
    money_fields = ("price_amount",)
    inlines = [LicenseInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).prefetch_related("licenses")

    price = money_display("price_amount", description="price")

    @admin.display(description="licenses")
    def license_prices(self, obj: Product) -> str:
        return ", ".join(
            f"{license.get_tier_display()} {format_money(license.price_amount, obj.currency)}"
            for license in obj.licenses.all()
        )

    @admin.display(description="file", boolean=True)
    def has_file(self, obj: Product) -> bool:
        return bool(obj.file)
