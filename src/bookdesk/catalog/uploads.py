"""Checks on the files an operator uploads for a beat, cheap enough for the admin's request: the header of
the audio (its format and length, never the decoding: that is the worker's), the ZIP's directory, the
image's header. Each returns a sentence for the form, or None when the file is fine.
"""

from __future__ import annotations

import zipfile
from typing import IO, Any

import soundfile as sf
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from bookdesk.catalog.audio import MASTER_FORMATS

MB = 1024 * 1024


def _limit(name: str, default_mb: int) -> int:
    return int(getattr(settings, name, default_mb)) * MB


def _size_problem(upload: Any, what: str, limit: int) -> str | None:
    size = getattr(upload, "size", None) or 0
    if size > limit:
        return f"The {what} is {size / MB:.1f} MB; the largest allowed is {limit // MB} MB."
    if size == 0:
        return f"The {what} is empty."
    return None


def _rewound(upload: Any) -> IO[bytes]:
    upload.seek(0)
    return upload  # type: ignore[no-any-return]


def master_problem(upload: Any, *, what: str = "master") -> str | None:
    """A WAV or FLAC file no longer than the setting allows; the worker decodes and checks the rest."""
    problem = _size_problem(upload, what, _limit("BEAT_MASTER_MAX_MB", 300))
    if problem:
        return problem
    try:
        info = sf.info(_rewound(upload))
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError):
        return f"The {what} is not a readable WAV or FLAC file. Export it as WAV (PCM) or FLAC and upload it again."
    finally:
        upload.seek(0)
    if info.format not in MASTER_FORMATS:
        return f"The {what} is {info.format_info or info.format}; upload a WAV or FLAC file."
    max_seconds = float(getattr(settings, "BEAT_MAX_SECONDS", 600))
    if info.duration > max_seconds:
        return f"The {what} is {info.duration / 60:.1f} minutes long; the longest allowed is {max_seconds / 60:.0f}."
    return None


def stems_problem(upload: Any) -> str | None:
    problem = _size_problem(upload, "stems archive", _limit("BEAT_STEMS_MAX_MB", 1024))
    if problem:
        return problem
    try:
        with zipfile.ZipFile(_rewound(upload)) as archive:
            names = [name for name in archive.namelist() if not name.endswith("/")]
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return "The stems archive is not a ZIP file. Put the stems in one .zip archive and upload that."
    finally:
        upload.seek(0)
    if broken is not None:
        return f"The stems archive is damaged ({broken} does not read back). Zip the stems again."
    if not names:
        return "The stems archive is empty."
    return None


def cover_problem(upload: Any) -> str | None:
    problem = _size_problem(upload, "cover", _limit("BEAT_COVER_MAX_MB", 10))
    if problem:
        return problem
    try:
        with Image.open(_rewound(upload)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return "The cover is not an image we can read. Upload a PNG or JPEG."
    finally:
        upload.seek(0)
    if kind not in {"PNG", "JPEG"}:
        return f"The cover is a {kind} image; upload a PNG or JPEG."
    return None
