"""Finding beats: the filters producers and artists search by, parsed from a query string and applied to
a queryset of products. PostgreSQL answers free text with its full-text search; other databases (SQLite)
with a case-insensitive match of every word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from bookdesk.catalog.models import BPM_MAX, BPM_MIN, Genre, License, Mood, MusicalKey, Product
from bookdesk.errors import InvalidInput

MAX_QUERY_LENGTH = 100
MAX_PRICE = 10**12


class BeatSort(StrEnum):
    TITLE = "title"
    NEWEST = "newest"
    PRICE = "price"
    PRICE_DESC = "-price"
    BPM = "bpm"
    BPM_DESC = "-bpm"


SORTS: dict[str, tuple[Any, ...]] = {
    BeatSort.TITLE: ("title", "id"),
    BeatSort.NEWEST: ("-created_at", "-id"),
    BeatSort.PRICE: (F("price_from").asc(nulls_last=True), "id"),
    BeatSort.PRICE_DESC: (F("price_from").desc(nulls_last=True), "-id"),
    BeatSort.BPM: (F("bpm").asc(nulls_last=True), "id"),
    BeatSort.BPM_DESC: (F("bpm").desc(nulls_last=True), "-id"),
}
FIELDS = ("kind", "genre", "mood", "key", "bpm_min", "bpm_max", "price_min", "price_max", "q", "sort")


@dataclass(frozen=True)
class BeatFilters:
    kind: str | None = None
    genre: str | None = None
    mood: str | None = None
    key: str | None = None
    bpm_min: int | None = None
    bpm_max: int | None = None
    price_min: int | None = None  # minor units: the cheapest licence (or a good's price)
    price_max: int | None = None
    q: str | None = None
    sort: str = "title"

    @property
    def active(self) -> bool:
        """Anything asked beyond the default listing."""
        return any(getattr(self, name) not in (None, "") for name in FIELDS if name != "sort") or self.sort != "title"

    @property
    def beats_only(self) -> bool:
        return any(v is not None for v in (self.genre, self.mood, self.key, self.bpm_min, self.bpm_max))


def _error(name: str, message: str) -> dict[str, str]:
    return {"field": name, "in": "query", "message": message}


def _choice(raw: Mapping[str, Any], name: str, values: list[str], errors: list[dict[str, str]]) -> str | None:
    value = str(raw.get(name) or "").strip()
    if not value:
        return None
    if value not in values:
        errors.append(_error(name, f"unknown {name} “{value[:40]}”; one of: {', '.join(values)}"))
        return None
    return value


def _integer(raw: Mapping[str, Any], name: str, low: int, high: int, errors: list[dict[str, str]]) -> int | None:
    value = str(raw.get(name) or "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        errors.append(_error(name, "must be a whole number"))
        return None
    if not low <= number <= high:
        errors.append(_error(name, f"must be between {low} and {high}"))
        return None
    return number


def beat_filters_parse(raw: Mapping[str, Any]) -> BeatFilters:
    """Filters from query parameters; InvalidInput (422) naming every bad one. A reversed range (`bpm_min`
    above `bpm_max`) is no error: nothing lies in it, so it finds nothing."""
    errors: list[dict[str, str]] = []
    kind = _choice(raw, "kind", list(Product.Kind.values), errors)
    genre = _choice(raw, "genre", list(Genre.values), errors)
    mood = _choice(raw, "mood", list(Mood.values), errors)
    key = _choice(raw, "key", list(MusicalKey.values), errors)
    bpm_min = _integer(raw, "bpm_min", BPM_MIN, BPM_MAX, errors)
    bpm_max = _integer(raw, "bpm_max", BPM_MIN, BPM_MAX, errors)
    price_min = _integer(raw, "price_min", 0, MAX_PRICE, errors)
    price_max = _integer(raw, "price_max", 0, MAX_PRICE, errors)
    sort = _choice(raw, "sort", list(SORTS), errors) or "title"
    q = str(raw.get("q") or "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        errors.append(_error("q", f"at most {MAX_QUERY_LENGTH} characters"))
    if errors:
        raise InvalidInput("Some filters are not valid: " + "; ".join(e["field"] + " " + e["message"] for e in errors),
                           errors=errors)  # fmt: skip
    return BeatFilters(
        kind=kind, genre=genre, mood=mood, key=key, bpm_min=bpm_min, bpm_max=bpm_max,
        price_min=price_min, price_max=price_max, q=q or None, sort=sort,
    )  # fmt: skip


def with_price_from(products: QuerySet[Product]) -> QuerySet[Product]:
    """Annotate `price_from`: the cheapest active licence of a beat, or a good's own price."""
    cheapest = (
        License.objects.filter(product=OuterRef("pk"), active=True).order_by("price_amount").values("price_amount")[:1]
    )
    return products.annotate(price_from=Coalesce(Subquery(cheapest), F("price_amount")))


def full_text_supported() -> bool:
    return connection.vendor == "postgresql"


def _words(q: str) -> list[str]:
    return list(re.findall(r"\w+", q.lower()))[:8]


def _text_match(products: QuerySet[Product], q: str) -> QuerySet[Product]:
    """Every word of `q` begins a word of the title, description, genre or mood (PostgreSQL), or appears in
    one of them (elsewhere)."""
    words = _words(q)
    if not words:
        return products
    if full_text_supported():
        vector = SearchVector("title", "description", "genre", "mood", config="simple")
        query = SearchQuery(" & ".join(f"{word}:*" for word in words), search_type="raw", config="simple")
        return products.annotate(search=vector).filter(search=query)
    for word in words:
        matches = Q(title__icontains=word) | Q(description__icontains=word)
        products = products.filter(matches | Q(genre__icontains=word) | Q(mood__icontains=word))
    return products


def beats_filter(products: QuerySet[Product], filters: BeatFilters) -> QuerySet[Product]:
    """`products` narrowed by `filters` and ordered by its sort (annotated `price_from` when price matters)."""
    if filters.price_min is not None or filters.price_max is not None or filters.sort in ("price", "-price"):
        products = with_price_from(products)  # a subquery per row: only when price filters or sorts
    if filters.beats_only:
        products = products.filter(kind=Product.Kind.DIGITAL)
    exact = {"kind": filters.kind, "genre": filters.genre, "mood": filters.mood, "musical_key": filters.key}
    products = products.filter(**{name: value for name, value in exact.items() if value})
    if filters.bpm_min is not None:
        products = products.filter(bpm__gte=filters.bpm_min)
    if filters.bpm_max is not None:
        products = products.filter(bpm__lte=filters.bpm_max)
    if filters.price_min is not None:
        products = products.filter(Q(price_from__gte=filters.price_min))  # an annotation: Q keeps mypy from looking
    if filters.price_max is not None:
        products = products.filter(Q(price_from__lte=filters.price_max))
    if filters.q:
        products = _text_match(products, filters.q)
    return products.order_by(*SORTS[filters.sort])
