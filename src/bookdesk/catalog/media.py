"""Where a beat's public media is served (`web.media`): its cover and its tagged preview.

The URLs carry a short digest of the stored file's name (which changes with every new derivation or
upload; a failed derivation keeps the previous files), so a page never plays yesterday's preview out of a cache.
"""

from __future__ import annotations

import hashlib

from bookdesk.catalog.models import Product

_PATHS = {"cover": "/products/{id}/cover", "preview": "/products/{id}/preview.mp3"}


def media_url(product: Product, kind: str) -> str | None:
    """The public URL of a product's `cover` or `preview`, or None when it has none (yet)."""
    field = product.cover if kind == "cover" else product.preview
    if not field:
        return None
    version = hashlib.sha256((field.name or "").encode()).hexdigest()[:10]
    return _PATHS[kind].format(id=product.pk) + f"?v={version}"
