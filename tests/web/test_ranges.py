"""Range requests (RFC 9110 §14) on the beat preview: 206 for the first bytes, a middle and a suffix, 416 when
nothing is satisfiable, malformed or multiple ranges ignored (the whole file), conditionals answered 304."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils.http import http_date

from bookdesk.web.ranges import UNSATISFIABLE, ByteRange, parse_range
from factories import BeatFactory

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=0-0", ByteRange(0, 0)),
        ("bytes=500-599", ByteRange(500, 599)),
        ("bytes=900-", ByteRange(900, 999)),
        ("bytes=900-5000", ByteRange(900, 999)),  # last-pos past the end: clamped
        ("bytes=-100", ByteRange(900, 999)),  # suffix
        ("bytes=-5000", ByteRange(0, 999)),  # suffix longer than the file: all of it
        ("BYTES=0-9", ByteRange(0, 9)),  # the unit is case-insensitive
        ("bytes=1000-", UNSATISFIABLE),  # first-pos at the end
        ("bytes=5000-6000", UNSATISFIABLE),
        ("bytes=-0", UNSATISFIABLE),  # an empty suffix
        ("bytes=9-1", None),  # last before first: invalid, ignored
        ("bytes=abc", None),
        ("bytes=-", None),
        ("bytes=1-2-3", None),
        ("bytes 0-9", None),
        ("items=0-9", None),  # another unit: ignored
        ("bytes=0-9,20-29", None),  # several ranges: the whole representation instead
        ("bytes=0x10-20", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, SIZE) == expected


def test_an_empty_file_satisfies_no_range():
    assert parse_range("bytes=0-", 0) is UNSATISFIABLE
    assert parse_range("bytes=-1", 0) is UNSATISFIABLE


@pytest.fixture
def preview(db, settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    beat = BeatFactory()
    beat.preview.save("preview.mp3", ContentFile(bytes(range(256)) * 40), save=True)  # 10,240 bytes
    return beat


def _url(beat) -> str:  # type: ignore[no-untyped-def]
    return f"/products/{beat.pk}/preview.mp3"


def _body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_whole_preview_announces_ranges_and_validators(client, preview):
    response = client.get(_url(preview))
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Content-Length"] == "10240"
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"]
    assert _body(response) == Path(preview.preview.path).read_bytes()


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=5000-5099", 5000, 5099),
        ("bytes=-256", 9984, 10239),
        ("bytes=10000-", 10000, 10239),
    ],
)
def test_a_range_answers_206_with_exactly_those_bytes(client, preview, header, start, end):
    response = client.get(_url(preview), HTTP_RANGE=header)
    content = Path(preview.preview.path).read_bytes()

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/10240"
    assert response["Content-Length"] == str(end - start + 1)
    assert _body(response) == content[start : end + 1]


def test_an_unsatisfiable_range_answers_416_with_the_size(client, preview):
    response = client.get(_url(preview), HTTP_RANGE="bytes=20000-")
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */10240"


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=9-1", "pages=1-2", "bytes=0-1,5-6"])
def test_a_malformed_or_multiple_range_is_ignored(client, preview, header):
    response = client.get(_url(preview), HTTP_RANGE=header)
    assert response.status_code == 200
    assert len(_body(response)) == 10240


def test_if_none_match_answers_304(client, preview):
    etag = client.get(_url(preview))["ETag"]
    response = client.get(_url(preview), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag
    assert client.get(_url(preview), HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_if_modified_since_answers_304(client, preview):
    last_modified = client.get(_url(preview))["Last-Modified"]
    assert client.get(_url(preview), HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert client.get(_url(preview), HTTP_IF_MODIFIED_SINCE=http_date(0)).status_code == 200


def test_a_range_with_a_stale_if_range_gets_the_whole_file(client, preview):
    etag = client.get(_url(preview))["ETag"]
    assert client.get(_url(preview), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag).status_code == 206
    assert client.get(_url(preview), HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"').status_code == 200


def test_head_has_the_headers_and_no_body(client, preview):
    response = client.head(_url(preview), HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206
    assert response["Content-Range"] == "bytes 0-9/10240"


def test_no_preview_or_no_beat_is_404(client, db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    beat = BeatFactory()
    assert client.get(_url(beat)).status_code == 404
    assert client.get("/products/999999/preview.mp3").status_code == 404
    unpublished = BeatFactory(published=False)
    assert client.get(_url(unpublished)).status_code == 404


def test_post_is_refused(client, preview):
    assert client.post(_url(preview)).status_code == 405
