"""Deriving a beat's audio in the worker: the MP3, the tagged preview (the tag really is in it), the waveform;
and every bad master leaves a clear reason and nothing half-saved."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.core.files.base import ContentFile

from bookdesk.catalog import audio, demo_media
from bookdesk.catalog.audio_services import audio_derive_due, beat_audio_request
from bookdesk.catalog.models import AudioStatus, Product

from .beats import SECONDS, beat_with_master, derived_beat, master_bytes, voice_tag

pytestmark = pytest.mark.django_db

MP3_FRAME = 1152  # samples per MPEG-1 layer III frame


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


def _mono(path: str) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    return samples.mean(axis=1), rate


def _envelope_correlation(signal: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of `probe` along `signal` (FFT), one value per lag."""
    n = len(signal) + len(probe)
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(signal, size) * np.conj(np.fft.rfft(probe, size)), size)[: len(signal)]
    window = np.sqrt(np.convolve(signal**2, np.ones(len(probe)), "full")[len(probe) - 1 : len(probe) - 1 + len(signal)])
    return corr / (np.linalg.norm(probe) * np.maximum(window, 1e-9))


def test_the_worker_derives_mp3_preview_and_waveform():
    voice_tag(interval_seconds=2)
    beat = beat_with_master()
    assert beat.audio_status == AudioStatus.PENDING

    assert audio_derive_due(limit=5) == 1
    beat.refresh_from_db()

    assert beat.audio_status == AudioStatus.READY
    assert beat.audio_error == ""
    assert beat.duration_seconds == round(SECONDS)
    assert len(beat.waveform) == audio.PEAK_COUNT
    assert all(0 <= peak <= 1 for peak in beat.waveform)
    assert max(beat.waveform) == 1
    assert sf.info(beat.mp3.path).format == "MP3"
    assert sf.info(beat.preview.path).format == "MP3"


def test_the_mp3_decodes_to_the_masters_length_at_320_kbps():
    beat = derived_beat()
    master = sf.info(beat.master.path)
    mp3 = sf.info(beat.mp3.path)

    assert abs(mp3.frames - master.frames) <= MP3_FRAME
    assert mp3.samplerate == master.samplerate
    kbps = Path(beat.mp3.path).stat().st_size * 8 / mp3.duration / 1000
    assert 300 <= kbps <= 335
    preview_kbps = Path(beat.preview.path).stat().st_size * 8 / sf.info(beat.preview.path).duration / 1000
    assert 115 <= preview_kbps <= 140


def test_the_preview_carries_the_voice_tag_at_each_interval_and_the_mp3_does_not():
    voice_tag(interval_seconds=2)
    beat = derived_beat()
    tag = demo_media.voice_tag()[:, 0]
    preview, rate = _mono(beat.preview.path)
    full, _ = _mono(beat.mp3.path)

    tagged = _envelope_correlation(preview, tag)
    untagged = _envelope_correlation(full, tag)
    expected = audio.tag_positions(frames=len(preview), rate=rate, interval_seconds=2)
    assert len(expected) == 2  # a 4-second master: at 1 s and at 3 s
    for start in expected:
        # The MP3 encoder shifts samples by under a frame; the tag is there, strongly, at each position.
        around = tagged[max(0, start - 2 * MP3_FRAME) : start + 2 * MP3_FRAME]
        assert around.max() > 0.5
    assert untagged.max() < 0.35


def test_deriving_again_replaces_the_files_and_removes_the_old_ones(django_capture_on_commit_callbacks):
    beat = derived_beat()
    old_mp3, old_preview = beat.mp3.path, beat.preview.path
    beat.master.save("master2.wav", ContentFile(master_bytes(seed=9, bpm=120)), save=True)
    beat_audio_request(product_ids=[beat.pk])

    with django_capture_on_commit_callbacks(execute=True):
        audio_derive_due(limit=1)
    beat.refresh_from_db()

    assert beat.audio_status == AudioStatus.READY
    assert beat.mp3.path != old_mp3
    assert Path(beat.mp3.path).exists()
    assert not Path(old_mp3).exists()
    assert not Path(old_preview).exists()


def _silent() -> bytes:
    return demo_media.wav_bytes(np.zeros((44100 * 3, 2), dtype=np.float32))


def _corrupt() -> bytes:
    data = bytearray(master_bytes())
    return bytes(data[:60]) + b"\x00garbage" * 10  # a WAV header promising data that is not there


def _eight_bit_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(bytes(128 for _ in range(100)))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"this is not audio at all", "not a readable WAV or FLAC", id="not-audio"),
        pytest.param(_silent(), "silent", id="silent"),
        pytest.param(_corrupt(), "", id="corrupt"),
        pytest.param(_eight_bit_wav(), "at least", id="too-short"),
        pytest.param(demo_media.wav_bytes(np.zeros((100, 1)), format="AIFF"), "upload a WAV or FLAC", id="aiff"),
    ],
)
def test_a_bad_master_fails_with_a_reason_and_keeps_the_previous_files(content, reason):
    beat = derived_beat(seconds=1.5)
    before = (beat.mp3.name, beat.preview.name, beat.waveform, beat.duration_seconds)
    beat.master.save("broken.wav", ContentFile(content), save=True)
    beat_audio_request(product_ids=[beat.pk])

    assert audio_derive_due(limit=1) == 1
    beat.refresh_from_db()

    assert beat.audio_status == AudioStatus.FAILED
    assert reason in beat.audio_error
    assert beat.audio_error
    assert (beat.mp3.name, beat.preview.name, beat.waveform, beat.duration_seconds) == before
    assert Path(beat.mp3.path).exists()
    assert Path(beat.preview.path).exists()
    assert sorted(p.name for p in Path(beat.mp3.path).parent.iterdir()) == sorted(
        [Path(beat.mp3.name).name, Path(beat.preview.name).name]
    )  # nothing half-saved next to them


def test_a_master_longer_than_allowed_fails(settings):
    settings.BEAT_MAX_SECONDS = 3
    beat = beat_with_master()

    audio_derive_due(limit=1)
    beat.refresh_from_db()

    assert beat.audio_status == AudioStatus.FAILED
    assert "longest allowed is 0:03" in beat.audio_error


def test_a_flac_master_is_derived():
    flac = demo_media.wav_bytes(demo_media.beat(bpm=90, key="C", seconds=2, seed=2), format="FLAC", subtype="PCM_16")
    beat = beat_with_master(flac, name="master.flac")

    audio_derive_due(limit=1)
    beat.refresh_from_db()

    assert beat.audio_status == AudioStatus.READY
    assert beat.duration_seconds == 2


def test_a_master_changed_while_deriving_is_left_for_the_next_claim(monkeypatch):
    beat = beat_with_master()
    from bookdesk.catalog import audio_services

    real = audio_services.derive_files

    def change_master_meanwhile(**kwargs):  # type: ignore[no-untyped-def]
        derived = real(**kwargs)
        Product.objects.filter(pk=beat.pk).update(master="masters/newer.wav", audio_status=AudioStatus.PENDING)
        return derived

    monkeypatch.setattr(audio_services, "derive_files", change_master_meanwhile)
    audio_derive_due(limit=1)
    beat.refresh_from_db()

    assert beat.audio_status == AudioStatus.PENDING
    assert not beat.mp3
    assert not beat.preview


def test_nothing_waits_then_nothing_is_derived():
    assert audio_derive_due(limit=5) == 0


def test_pure_functions_peaks_and_mix():
    rate = 8000
    music = audio.Audio(samples=np.full((rate * 4, 2), 0.1, dtype=np.float32), rate=rate)
    tag = audio.Audio(samples=np.full((rate // 2, 1), 0.5, dtype=np.float32), rate=rate)

    mixed = audio.mix_tag(music, tag, interval_seconds=2, gain=1.0, first_at=0.5)

    assert mixed.samples.shape == music.samples.shape
    assert mixed.samples[int(0.6 * rate), 0] > 0.5
    assert mixed.samples[int(2.6 * rate), 0] > 0.5
    assert mixed.samples[int(1.5 * rate), 0] == pytest.approx(0.1)
    assert audio.peaks(audio.Audio(samples=np.linspace(0, 1, 1000, dtype=np.float32)[:, None], rate=1000), count=4) == [
        pytest.approx(0.25, abs=0.01),
        pytest.approx(0.5, abs=0.01),
        pytest.approx(0.75, abs=0.01),
        1.0,
    ]
