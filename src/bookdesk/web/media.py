"""Public media of the catalog: a beat's tagged preview (seekable: byte ranges) and its cover art.

Anyone may fetch them (they are what the store shows); the untagged files are downloads (`web.downloads`).
Responses carry a strong ETag and Last-Modified, answer conditional requests with 304, and `Range`
requests with 206 or 416 (`web.ranges`), so browsers seek without fetching the whole file.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from datetime import UTC, datetime

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_safe

from bookdesk.catalog.models import Product
from bookdesk.web.ranges import ByteRange, RangeFile, Unsatisfiable, parse_range

BLOCK_SIZE = 64 * 1024
CACHE_CONTROL = "public, max-age=3600"


def _published(product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id, published=True).only("pk", "preview", "cover").first()
    if product is None:
        raise Http404("No such product.")
    return product


@require_safe
def preview(request: HttpRequest, product_id: int) -> HttpResponseBase:
    """The tagged preview MP3 of a published beat."""
    return serve_file(request, _published(product_id).preview, content_type="audio/mpeg")


@require_safe
def cover(request: HttpRequest, product_id: int) -> HttpResponseBase:
    field = _published(product_id).cover
    content_type = mimetypes.guess_type(field.name or "")[0] or "application/octet-stream"
    return serve_file(request, field, content_type=content_type)


def serve_file(request: HttpRequest, field: FieldFile, *, content_type: str) -> HttpResponseBase:
    if not field:
        raise Http404("Not available yet.")
    try:
        path = field.path
        stat = os.stat(path)
    except (OSError, NotImplementedError, ValueError) as exc:
        raise Http404("Not available.") from exc
    size = stat.st_size
    # Stored names carry a digest of their content (catalog.audio_services): name, size and time pin it.
    etag = '"' + hashlib.sha256(f"{field.name}:{size}:{stat.st_mtime_ns}".encode()).hexdigest()[:32] + '"'
    last_modified = int(stat.st_mtime)
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(last_modified),
        "Accept-Ranges": "bytes",
        "Cache-Control": CACHE_CONTROL,
    }
    conditional = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if conditional is not None:  # 304 Not Modified, or 412 when If-Match / If-Unmodified-Since fail
        for name, value in headers.items():
            conditional[name] = value
        return conditional

    requested = parse_range(request.headers.get("Range"), size)
    if requested is not None and not _if_range_holds(request.headers.get("If-Range"), etag, last_modified):
        requested = None  # the client's copy is stale: the whole, current representation instead
    if isinstance(requested, Unsatisfiable):
        response = HttpResponse(status=416)
        response["Content-Range"] = requested.content_range(size)
        for name, value in headers.items():
            response[name] = value
        return response

    handle = open(path, "rb")  # noqa: SIM115 — closed by the response
    if isinstance(requested, ByteRange):
        streamed = FileResponse(RangeFile(handle, requested), status=206, content_type=content_type)
        streamed["Content-Length"] = str(requested.length)
        streamed["Content-Range"] = requested.content_range(size)
    else:
        streamed = FileResponse(handle, content_type=content_type)
        streamed["Content-Length"] = str(size)
    streamed.block_size = BLOCK_SIZE
    for name, value in headers.items():
        streamed[name] = value
    return streamed


def _if_range_holds(if_range: str | None, etag: str, last_modified: int) -> bool:
    """RFC 9110 §13.1.5: the range applies only if the validator names the current representation."""
    if not if_range:
        return True
    if_range = if_range.strip()
    if if_range.startswith(('"', "W/")):
        return if_range == etag  # a strong comparison: weak tags never match
    moment = parse_http_date_safe(if_range)
    return moment is not None and moment == last_modified and datetime.now(UTC).timestamp() - last_modified >= 1
