"""Response shapes of the catalog API (documented in /api/openapi.json)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from bookdesk.catalog.models import BPM_MAX, BPM_MIN, Course, Genre, Mood, MusicalKey, Product, Service
from bookdesk.catalog.search import MAX_PRICE, MAX_QUERY_LENGTH, BeatSort
from bookdesk.fields import AddressText
from bookdesk.money import money
from bookdesk.orders.availability import license_available


class ProductFiltersIn(Schema):
    """The filters of `GET /api/products` (query parameters), each with its allowed values: the OpenAPI document
    says what is accepted, and anything else is a 422 naming the parameter."""

    kind: Product.Kind | None = Field(None, description="`digital` (beats) or `physical` (goods).")
    genre: Genre | None = None
    mood: Mood | None = None
    key: MusicalKey | None = Field(None, description="As producers write it: `C` … `B`, `Cm` … `Bm`.")
    bpm_min: int | None = Field(None, ge=BPM_MIN, le=BPM_MAX, description="A range above `bpm_max` finds nothing.")
    bpm_max: int | None = Field(None, ge=BPM_MIN, le=BPM_MAX)
    price_min: int | None = Field(
        None, ge=0, le=MAX_PRICE, description="Minor units of the cheapest licence (a good's own price)."
    )
    price_max: int | None = Field(None, ge=0, le=MAX_PRICE)
    q: AddressText | None = Field(
        None, max_length=MAX_QUERY_LENGTH, description="Free text: title, description, genre, mood."
    )
    sort: BeatSort | None = Field(None, description="`title` when not given.")


class MoneyOut(Schema):
    amount: int
    currency: str


class CourseOut(Schema):
    id: int
    title: str
    slug: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: str
    capacity: int
    seats_left: int
    price: MoneyOut
    bookable: bool
    url: str

    @staticmethod
    def resolve_price(obj: Course) -> dict[str, Any]:
        return dict(money(obj.price_amount, obj.currency))

    @staticmethod
    def resolve_bookable(obj: Course) -> bool:
        """Open for booking and a seat left."""
        return obj.is_bookable and getattr(obj, "seats_left", 0) > 0

    @staticmethod
    def resolve_url(obj: Course) -> str:
        return obj.get_absolute_url()


class ResourceOut(Schema):
    id: int
    name: str


class ServiceOut(Schema):
    id: int
    name: str
    slug: str
    description: str
    duration_minutes: int
    price: MoneyOut
    resources: list[ResourceOut]
    url: str

    @staticmethod
    def resolve_price(obj: Service) -> dict[str, Any]:
        return dict(money(obj.price_amount, obj.currency))

    @staticmethod
    def resolve_resources(obj: Service) -> list[dict[str, Any]]:
        return [{"id": resource.pk, "name": resource.name} for resource in obj.resources.all()]

    @staticmethod
    def resolve_url(obj: Service) -> str:
        return obj.get_absolute_url()


class SlotOut(Schema):
    starts_at: dt.datetime
    ends_at: dt.datetime
    resource_ids: list[int]


class ServiceSlotsOut(Schema):
    service_id: int
    date: dt.date
    time_zone: str
    slots: list[SlotOut]


class LicenseTermsOut(Schema):
    """What the licensee may do; a null limit is unlimited."""

    streams: int | None
    copies: int | None
    music_videos: int | None
    radio_stations: int | None
    credit_required: bool
    notes: str


class LicenseOut(Schema):
    id: int
    tier: str
    name: str
    price: MoneyOut
    exclusive: bool
    available: bool
    deliverables: list[str]
    terms: LicenseTermsOut


class ProductOut(Schema):
    id: int
    title: str
    slug: str
    kind: str
    description: str
    ships: bool
    price: MoneyOut | None = None
    licenses: list[LicenseOut]
    url: str
    genre: str | None = None
    mood: str | None = None
    bpm: int | None = None
    key: str | None = None
    duration_seconds: int | None = None
    cover_url: str | None = None
    preview_url: str | None = None
    waveform: list[float] = []

    # Goods: units left to buy (stock minus units held and sold) and the weight of one; null for digital products.
    stock_left: int | None = None
    weight_grams: int | None = None
    sold_out: bool = False

    @staticmethod
    def from_product(obj: Product) -> ProductOut:
        """The product as the API shows it (list and detail), built from its typed fields without a validation
        pass: a list page of beats spent a third of its time validating what its resolvers had typed."""
        money_out = MoneyOut.model_construct
        return ProductOut.model_construct(
            id=obj.pk,
            title=obj.title,
            slug=obj.slug,
            kind=obj.kind,
            description=obj.description,
            ships=obj.ships,
            price=None if obj.price_amount is None else money_out(**money(obj.price_amount, obj.currency)),
            licenses=[
                LicenseOut.model_construct(
                    id=license.pk,
                    tier=license.tier,
                    name=license.name,
                    price=money_out(**money(license.price_amount, obj.currency)),
                    exclusive=license.exclusive,
                    available=license_available(obj, license),
                    deliverables=license.deliverable_list,
                    terms=LicenseTermsOut.model_construct(**license.terms_summary),
                )
                for license in obj.licenses.all()
            ],
            url=obj.get_absolute_url(),
            genre=obj.genre or None,
            mood=obj.mood or None,
            bpm=obj.bpm,
            key=obj.musical_key or None,
            duration_seconds=obj.duration_seconds,
            cover_url=obj.cover_url,
            preview_url=obj.preview_url,
            waveform=list(obj.waveform or []),
            stock_left=getattr(obj, "stock_left", None) if obj.ships else None,
            weight_grams=obj.weight_grams,
            sold_out=obj.ships and (getattr(obj, "stock_left", None) or 0) <= 0,
        )
