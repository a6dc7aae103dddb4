"""Beats with real (generated) audio for the tests: a short master, the voice tag, derived by the worker's
own code."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile

from bookdesk.catalog import demo_media
from bookdesk.catalog.audio_services import audio_derive_due, beat_audio_request
from bookdesk.catalog.models import Product, VoiceTag
from factories import BeatFactory

SECONDS = 4.0


def master_bytes(*, bpm: int = 96, key: str = "Am", seconds: float = SECONDS, seed: int = 1) -> bytes:
    return demo_media.wav_bytes(demo_media.beat(bpm=bpm, key=key, seconds=seconds, seed=seed))


def voice_tag(interval_seconds: int = 3) -> VoiceTag:
    tag = VoiceTag(interval_seconds=interval_seconds, gain=0.8)
    tag.file.save("tag.wav", ContentFile(demo_media.wav_bytes(demo_media.voice_tag())), save=False)
    tag.save()
    return tag


def beat_with_master(content: bytes | None = None, *, name: str = "master.wav", **fields: Any) -> Product:
    beat = BeatFactory(**{"bpm": 96, "musical_key": "Am", "genre": "hip-hop", "mood": "dark", **fields})
    beat.master.save(name, ContentFile(content if content is not None else master_bytes()), save=True)
    beat_audio_request(product_ids=[beat.pk])
    beat.refresh_from_db()
    return beat


def derived_beat(*, seconds: float = SECONDS, **fields: Any) -> Product:
    """A beat whose audio the worker's code has derived (MP3, tagged preview, waveform)."""
    beat = beat_with_master(master_bytes(seconds=seconds), **fields)
    audio_derive_due(limit=10)
    beat.refresh_from_db()
    return beat
