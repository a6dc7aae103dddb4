"""A beat's audio, as pure functions over numpy arrays: decode, check, resample, mix the voice tag, encode
MP3, waveform peaks. No database, no storage: `catalog.audio_services` runs these in the worker.

Decoding and MP3 encoding are libsndfile's (through soundfile; its wheel carries LAME and mpg123), so
nothing outside Python is needed. Samples are float32 arrays shaped (frames, channels), within [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

# Masters the operator may upload (libsndfile's format names).
MASTER_FORMATS = {"WAV": "WAV", "WAVEX": "WAV", "FLAC": "FLAC"}
# MPEG-1 layer III rates: 320 kbps is only defined for these.
MP3_RATES = (32000, 44100, 48000)
MP3_TARGET_RATE = 44100
# Quieter than this everywhere (about -70 dBFS) is a silent file, not a beat.
SILENCE_PEAK = 10 ** (-70 / 20)
MIN_SECONDS = 1.0
PEAK_COUNT = 200


class AudioProblem(Exception):
    """A file the operator uploaded cannot become a beat; the message says why, in words for them."""


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float32, (frames, channels)
    rate: int

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def decode(source: str | Path | BinaryIO, *, what: str = "master", formats: dict[str, str] = MASTER_FORMATS) -> Audio:
    """Read a WAV or FLAC file; AudioProblem for anything else (not audio, another format, corrupt)."""
    try:
        info = sf.info(source)
        if info.format not in formats:
            raise AudioProblem(f"The {what} is {info.format_info or info.format}; upload a WAV or FLAC file.")
        if hasattr(source, "seek"):
            source.seek(0)
        samples, rate = sf.read(source, dtype="float32", always_2d=True)
    except AudioProblem:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError, EOFError) as exc:
        raise AudioProblem(f"The {what} is not a readable WAV or FLAC file ({_short(exc)}).") from exc
    if samples.shape[0] == 0:
        raise AudioProblem(f"The {what} holds no sound (0 frames).")
    if not np.all(np.isfinite(samples)):
        raise AudioProblem(f"The {what} is corrupt (it holds samples that are not numbers).")
    return Audio(samples=np.clip(samples, -1.0, 1.0), rate=int(rate))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def check_master(audio: Audio, *, max_seconds: float) -> None:
    """Refuse a master that is too short, too long or silent."""
    if audio.seconds < MIN_SECONDS:
        raise AudioProblem(f"The master is {audio.seconds:.2f} s long; a beat needs at least {MIN_SECONDS:g} s.")
    if audio.seconds > max_seconds:
        raise AudioProblem(f"The master is {_clock(audio.seconds)} long; the longest allowed is {_clock(max_seconds)}.")
    if float(np.max(np.abs(audio.samples))) < SILENCE_PEAK:
        raise AudioProblem("The master is silent: no sound above -70 dBFS anywhere.")


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def resample(audio: Audio, rate: int) -> Audio:
    """Linear-interpolation resampling: enough for previews and a tag, and no extra dependency."""
    if audio.rate == rate:
        return audio
    frames = max(1, round(audio.frames * rate / audio.rate))
    source_times = np.arange(audio.frames, dtype=np.float64) / audio.rate
    target_times = np.arange(frames, dtype=np.float64) / rate
    channels = [np.interp(target_times, source_times, audio.samples[:, c]) for c in range(audio.channels)]
    return Audio(samples=np.stack(channels, axis=1).astype(np.float32), rate=rate)


def with_channels(audio: Audio, channels: int) -> Audio:
    """Mono to stereo by copying, more channels to fewer by averaging."""
    if audio.channels == channels:
        return audio
    if audio.channels == 1:
        return Audio(samples=np.repeat(audio.samples, channels, axis=1), rate=audio.rate)
    mono = audio.samples.mean(axis=1, keepdims=True)
    return Audio(samples=np.repeat(mono, channels, axis=1).astype(np.float32), rate=audio.rate)


def for_mp3(audio: Audio) -> Audio:
    """The master as MP3 takes it: 1 or 2 channels at an MPEG-1 rate."""
    if audio.channels > 2:
        audio = with_channels(audio, 2)
    if audio.rate not in MP3_RATES:
        audio = resample(audio, MP3_TARGET_RATE)
    return audio


def tag_positions(*, frames: int, rate: int, interval_seconds: float, first_at: float = 1.0) -> list[int]:
    """Where the tag starts (in frames): `first_at` seconds in, then every `interval_seconds`."""
    step = max(1, round(interval_seconds * rate))
    start = min(round(first_at * rate), max(0, frames - 1))
    return list(range(start, frames, step))


def mix_tag(music: Audio, tag: Audio, *, interval_seconds: float, gain: float = 0.8, first_at: float = 1.0) -> Audio:
    """The music with the voice tag laid over it at a regular interval; the music dips under each tag."""
    tag = with_channels(resample(tag, music.rate), music.channels)
    voice = tag.samples * np.float32(gain)
    out = music.samples.copy()
    duck = np.float32(0.6)
    starts = tag_positions(frames=music.frames, rate=music.rate, interval_seconds=interval_seconds, first_at=first_at)
    for start in starts:
        end = min(music.frames, start + tag.frames)
        out[start:end] = out[start:end] * duck + voice[: end - start]
    peak = float(np.max(np.abs(out)))
    if peak > 0.99:  # never clip: scale the whole preview down instead
        out *= np.float32(0.99 / peak)
    return Audio(samples=out, rate=music.rate)


def encode_mp3(audio: Audio, destination: str | Path | BinaryIO, *, kbps: int) -> None:
    """Write constant-bitrate MP3 at `kbps` (32–320) through libsndfile's LAME."""
    audio = for_mp3(audio)
    # libsndfile maps its compression level 0..1 linearly onto 320..32 kbps (MPEG-1, constant bitrate).
    level = min(1.0, max(0.0, (320 - kbps) / (320 - 32)))
    with sf.SoundFile(
        destination,
        "w",
        samplerate=audio.rate,
        channels=audio.channels,
        format="MP3",
        subtype="MPEG_LAYER_III",
        compression_level=level,
        bitrate_mode="CONSTANT",
    ) as out:
        out.write(audio.samples)


def peaks(audio: Audio, *, count: int = PEAK_COUNT) -> list[float]:
    """`count` values in 0–1: the loudest sample of each slice, relative to the loudest of all."""
    magnitude = np.max(np.abs(audio.samples), axis=1)
    count = max(1, min(count, magnitude.shape[0]))
    edges = np.linspace(0, magnitude.shape[0], count + 1).astype(np.int64)
    slices = np.maximum.reduceat(magnitude, edges[:-1])
    top = float(np.max(slices)) or 1.0
    return [round(float(value) / top, 3) for value in slices]
