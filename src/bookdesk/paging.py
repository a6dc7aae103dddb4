"""Page numbers for lists, in the API's shape: `{"items": [...], "page": n, "pages": n, "total": n}`.

Routers take `params: Query[PageParams]`, call `paginate(...)` and declare `response=page_of(ItemOut)`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import create_model

from bookdesk.errors import InvalidInput

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_number(raw: str | None, *, last: int) -> int:
    """A page number as a page's URL gives it: ASCII digits from 1 up, at most `last`; anything else is page 1
    ("²" and "١" are digits to `str.isdigit`, and the first is no number to `int`)."""
    text = (raw or "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    return min(max(int(text), 1), last)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    total: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def paginate(
    queryset_or_list: QuerySet[Any] | Sequence[T],
    *,
    page: int,
    page_size: int,
    max_page_size: int = MAX_PAGE_SIZE,
) -> Page[Any]:
    """One page of a queryset (two queries: a count and the slice) or of a list.

    `pages` is at least 1, so page 1 always exists; a page beyond the end is empty, not an error.
    """
    if page < 1:
        raise InvalidInput(
            "page must be 1 or more.", errors=[{"field": "page", "in": "query", "message": "must be ≥ 1"}]
        )
    if not 1 <= page_size <= max_page_size:
        raise InvalidInput(
            f"page_size must be between 1 and {max_page_size}.",
            errors=[{"field": "page_size", "in": "query", "message": f"must be between 1 and {max_page_size}"}],
        )
    total = queryset_or_list.count() if isinstance(queryset_or_list, QuerySet) else len(queryset_or_list)
    pages = max(1, math.ceil(total / page_size))
    offset = (page - 1) * page_size
    items = list(queryset_or_list[offset : offset + page_size]) if offset < total else []
    return Page(items=items, page=page, pages=pages, total=total, page_size=page_size)


class PageParams(Schema):
    """The `page` and `page_size` query parameters of every list endpoint."""

    page: int = Field(1, ge=1, description="1-based page number; beyond the last page the list is empty.")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page.")


@functools.cache
def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The response schema of a page of `item_schema` (named `<Item>Page` in OpenAPI)."""
    name = item_schema.__name__.removesuffix("Out") + "Page"
    model: type[Schema] = create_model(
        name,
        __base__=Schema,
        items=(list[item_schema], ...),  # type: ignore[valid-type]
        page=(int, ...),
        pages=(int, ...),
        total=(int, ...),
    )
    return model
