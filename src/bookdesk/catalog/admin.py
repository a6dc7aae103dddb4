"""The operators' catalog: resources with opening hours, services, products with licenses.

Courses are in `orders.admin`: their list shows the seats left, which the orders layer counts.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from bookdesk.catalog.models import License, OpeningHours, Product, Resource, Service, ShippingRate, ShippingZone
from bookdesk.money import format_money


class OpeningHoursInline(admin.TabularInline[OpeningHours, Resource]):
    model = OpeningHours
    extra = 1
    fields = ["weekday", "opens_at", "closes_at"]


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin[Resource]):
    list_display = ["name", "kind", "active", "weekly_hours"]
    list_filter = ["kind", "active"]
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
class ServiceAdmin(admin.ModelAdmin[Service]):
    list_display = ["name", "duration_minutes", "price", "resource_names", "published"]
    list_filter = ["published", "resources"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["resources"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return super().get_queryset(request).prefetch_related("resources")

    @admin.display(description="price", ordering="price_amount")
    def price(self, obj: Service) -> str:
        return format_money(obj.price_amount, obj.currency)

    @admin.display(description="resources")
    def resource_names(self, obj: Service) -> str:
        return ", ".join(resource.name for resource in obj.resources.all())


class LicenseInline(admin.TabularInline[License, Product]):
    model = License
    extra = 0
    fields = ["tier", "name", "price_amount", "exclusive", "active", "terms"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = ["title", "kind", "price", "license_prices", "stock", "weight_grams", "has_file", "published"]
    list_filter = ["kind", "published", "currency"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_at"]
    inlines = [LicenseInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).prefetch_related("licenses")

    @admin.display(description="price", ordering="price_amount")
    def price(self, obj: Product) -> str:
        return "" if obj.price_amount is None else format_money(obj.price_amount, obj.currency)

    @admin.display(description="licenses")
    def license_prices(self, obj: Product) -> str:
        return ", ".join(
            f"{license.get_tier_display()} {format_money(license.price_amount, obj.currency)}"
            for license in obj.licenses.all()
        )

    @admin.display(description="file", boolean=True)
    def has_file(self, obj: Product) -> bool:
        return bool(obj.file)


class ShippingRateInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ShippingRate
    extra = 1
    fields = ["name", "max_weight_grams", "amount", "min_days", "max_days", "active"]


@admin.register(ShippingZone)
class ShippingZoneAdmin(admin.ModelAdmin[ShippingZone]):
    """Where goods ship and what it costs: one Checkout shipping option per zone, priced by the parcel's weight band."""

    list_display = ["name", "countries", "free_over", "bands", "position", "active"]
    list_editable = ["position", "active"]
    inlines = [ShippingRateInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShippingZone]:
        return super().get_queryset(request).prefetch_related("rates")

    @admin.display(description="free shipping from")
    def free_over(self, obj: ShippingZone) -> str:
        return "—" if obj.free_shipping_over is None else format_money(obj.free_shipping_over, obj.currency)

    @admin.display(description="weight bands")
    def bands(self, obj: ShippingZone) -> str:
        return ", ".join(
            f"{rate.name} ≤ {rate.max_weight_grams} g {format_money(rate.amount, obj.currency)}"
            for rate in obj.rates.all()
        )
