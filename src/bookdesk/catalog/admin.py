"""The operators' catalog: resources with opening hours, services, products with licenses.

Courses are in `orders.admin`: their list shows the seats left, which the orders layer counts.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from bookdesk.admin_base import (
    InUseChoicesFilter,
    MoneyInputMixin,
    MoneyModelForm,
    ParentCurrencyFormSet,
    money_display,
)
from bookdesk.catalog import uploads
from bookdesk.catalog.audio_services import beat_audio_request, beat_audio_request_all
from bookdesk.catalog.models import (
    AudioStatus,
    Deliverable,
    License,
    OpeningHours,
    Product,
    Resource,
    Service,
    ShippingRate,
    ShippingZone,
    VoiceTag,
    deliverables_problem,
)
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


class LicenseForm(MoneyModelForm):
    deliverables = forms.MultipleChoiceField(
        choices=Deliverable.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = License
        fields = [
            "tier", "name", "price_amount", "exclusive", "active", "deliverables", "streams_limit", "copies_limit",
            "music_videos_limit", "radio_stations_limit", "credit_required", "terms",
        ]  # fmt: skip

    def clean_deliverables(self) -> list[str]:
        value = list(self.cleaned_data.get("deliverables") or [])
        problem = deliverables_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return [kind for kind in Deliverable.values if kind in value]


class LicenseInline(MoneyInputMixin, admin.StackedInline[License, Product]):
    model = License
    form = LicenseForm
    extra = 0
    fields = [
        ("tier", "name", "price_amount", "exclusive", "active"),
        "deliverables",
        ("streams_limit", "copies_limit", "music_videos_limit", "radio_stations_limit", "credit_required"),
        "terms",
    ]
    money_fields = ("price_amount",)
    formset = ParentCurrencyFormSet


class ProductForm(MoneyModelForm):
    """Uploads are checked as they arrive (type, size, header); decoding and deriving is the worker's."""

    class Meta:
        model = Product
        fields = [
            "title", "slug", "kind", "description", "price_amount", "currency", "published", "genre", "mood", "bpm",
            "musical_key", "cover", "master", "stems", "file",
        ]  # fmt: skip

    def _checked(self, field: str, check: Any) -> Any:
        upload = self.cleaned_data.get(field)
        if upload and field in self.changed_data and hasattr(upload, "seek"):
            problem = check(upload)
            if problem:
                raise forms.ValidationError(problem)
        return upload

    def clean_master(self) -> Any:
        return self._checked("master", uploads.master_problem)

    def clean_stems(self) -> Any:
        return self._checked("stems", uploads.stems_problem)

    def clean_cover(self) -> Any:
        return self._checked("cover", uploads.cover_problem)


@admin.register(Product)
class ProductAdmin(MoneyInputMixin, admin.ModelAdmin[Product]):
    form = ProductForm
    list_display = [
        "title",
        "kind",
        "genre",
        "bpm",
        "musical_key",
        "price",
        "license_prices",
        "stock",
        "audio",
        "published",
    ]
    list_filter = [
        ("kind", InUseChoicesFilter),
        "published",
        ("genre", InUseChoicesFilter),
        ("mood", InUseChoicesFilter),
        ("audio_status", InUseChoicesFilter),
        ("currency", InUseChoicesFilter),
    ]
    money_fields = ("price_amount",)
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_at", "audio_progress", "duration_seconds", "derived_files"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "kind", "description", "price_amount", "currency", "published"]}),
        ("Beat", {"fields": [("genre", "mood"), ("bpm", "musical_key"), "cover", "master", "stems", "file"]}),
        ("Derived audio (made by the worker)", {"fields": ["audio_progress", "duration_seconds", "derived_files"]}),
        (None, {"fields": ["created_at"]}),
    ]
    actions = ["derive_again"]
    inlines = [LicenseInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).prefetch_related("licenses")

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if "master" in form.changed_data:
            # After the commit the worker may claim it; the request itself never derives.
            beat_audio_request(product_ids=[obj.pk])
            obj.refresh_from_db(fields=["audio_status", "audio_error", "audio_updated_at"])

    @admin.action(description="Derive the audio again (MP3, tagged preview, waveform)")
    def derive_again(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        with transaction.atomic():
            asked = beat_audio_request(product_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{asked} beat(s) queued for the worker.")

    price = money_display("price_amount", description="price")

    @admin.display(description="licenses")
    def license_prices(self, obj: Product) -> str:
        return ", ".join(
            f"{license.get_tier_display()} {format_money(license.price_amount, obj.currency)}"
            for license in obj.licenses.all()
        )

    @admin.display(description="audio", ordering="audio_status")
    def audio(self, obj: Product) -> str:
        return obj.get_audio_status_display()

    @admin.display(description="status")
    def audio_progress(self, obj: Product) -> str:
        if obj.audio_status == AudioStatus.FAILED:
            return format_html('<strong class="errornote">Failed:</strong> {}', obj.audio_error)
        if obj.audio_status in {AudioStatus.PENDING, AudioStatus.RUNNING}:
            return f"{obj.get_audio_status_display()} (reload this page to follow it)."
        return obj.get_audio_status_display()

    @admin.display(description="files")
    def derived_files(self, obj: Product) -> str:
        names = [f"{label}: {field.name}" for label, field in (("MP3", obj.mp3), ("Preview", obj.preview)) if field]
        return "; ".join(names) + (f"; waveform of {len(obj.waveform)} peaks" if obj.waveform else "") or "—"


class VoiceTagForm(forms.ModelForm[VoiceTag]):
    class Meta:
        model = VoiceTag
        fields = ["file", "interval_seconds", "gain"]

    def clean_file(self) -> Any:
        upload = self.cleaned_data.get("file")
        if upload and "file" in self.changed_data and hasattr(upload, "seek"):
            problem = uploads.master_problem(upload, what="voice tag")
            if problem:
                raise forms.ValidationError(problem)
        return upload


@admin.register(VoiceTag)
class VoiceTagAdmin(admin.ModelAdmin[VoiceTag]):
    """One tag for the whole store: changing it queues every beat's preview again."""

    form = VoiceTagForm
    list_display = ["__str__", "interval_seconds", "gain", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not VoiceTag.objects.exists()

    def save_model(self, request: HttpRequest, obj: VoiceTag, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if form.changed_data:
            asked = beat_audio_request_all()
            self.message_user(request, f"The previews of {asked} beat(s) are queued to be made again with this tag.")


class ShippingRateInline(MoneyInputMixin, admin.TabularInline[ShippingRate, ShippingZone]):
    model = ShippingRate
    extra = 1
    fields = ["name", "max_weight_grams", "amount", "min_days", "max_days", "active"]
    money_fields = ("amount",)
    formset = ParentCurrencyFormSet


@admin.register(ShippingZone)
class ShippingZoneAdmin(MoneyInputMixin, admin.ModelAdmin[ShippingZone]):
    """Where goods ship and what it costs: one Checkout shipping option per zone, priced by the parcel's weight band."""

    list_display = ["name", "countries", "free_over", "bands", "position", "active"]
    list_editable = ["position", "active"]
    inlines = [ShippingRateInline]
    money_fields = ("free_shipping_over",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShippingZone]:
        return super().get_queryset(request).prefetch_related("rates")

    free_over = money_display("free_shipping_over", description="free shipping from")

    @admin.display(description="weight bands")
    def bands(self, obj: ShippingZone) -> str:
        return ", ".join(
            f"{rate.name} ≤ {rate.max_weight_grams} g {format_money(rate.amount, obj.currency)}"
            for rate in obj.rates.all()
        )
