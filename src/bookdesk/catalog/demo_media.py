"""Sound and pictures made in code for the demo catalog (`bookdesk seed`) and the tests: drum-and-bass loops,
a spoken-sounding voice tag, cover art. Nothing is downloaded; everything is deterministic from a seed.
"""

from __future__ import annotations

import colorsys
import io

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw, ImageFont

RATE = 44100

# Semitones of each key's root above C; minor keys get a minor third in the bassline.
_ROOTS = {"C": 0, "C#": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9}
_ROOTS |= {"Bb": 10, "B": 11}


def _root_hz(key: str) -> tuple[float, bool]:
    minor = key.endswith("m")
    pitch = key[:-1] if minor else key
    semitones = _ROOTS.get(pitch, 9)
    return 32.70 * 2 ** ((semitones + 12) / 12), minor  # C2 = 65.4 Hz, the bass register


def _kick(rate: int) -> np.ndarray:
    t = np.arange(int(0.35 * rate)) / rate
    pitch = 50 + 90 * np.exp(-t * 30)
    return np.sin(2 * np.pi * np.cumsum(pitch) / rate) * np.exp(-t * 9)


def _snare(rate: int, noise: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.22 * rate)) / rate
    body = np.sin(2 * np.pi * 190 * t) * np.exp(-t * 25) * 0.5
    return body + noise.uniform(-1, 1, t.size) * np.exp(-t * 18) * 0.6


def _hat(rate: int, noise: np.random.Generator) -> np.ndarray:
    t = np.arange(int(0.05 * rate)) / rate
    hiss = noise.uniform(-1, 1, t.size)
    hiss = np.diff(hiss, prepend=0.0)  # a crude high-pass: hats are bright
    return hiss * np.exp(-t * 90) * 0.25


def _place(track: np.ndarray, sound: np.ndarray, at: int, gain: float = 1.0) -> None:
    end = min(track.size, at + sound.size)
    if at < end:
        track[at:end] += sound[: end - at] * gain


def beat(*, bpm: int, key: str, seconds: float = 24.0, seed: int = 0, rate: int = RATE) -> np.ndarray:
    """A stereo drum-and-bass loop (float32, frames × 2): kick, snare, hats and a bassline in `key`."""
    noise = np.random.default_rng(seed)
    frames = int(seconds * rate)
    drums = np.zeros(frames)
    bass = np.zeros(frames)
    sixteenth = 60.0 / bpm / 4
    steps = int(seconds / sixteenth)
    kick, snare, hat = _kick(rate), _snare(rate, noise), _hat(rate, noise)
    kick_pattern = noise.choice([0b1000000010100000, 0b1000001000100100, 0b1001000000100000])
    root, minor = _root_hz(key)
    scale = [0, 3 if minor else 4, 7, 10 if minor else 9, 12]
    riff = [int(noise.choice(scale)) for _ in range(8)]
    for step in range(steps):
        at = int(step * sixteenth * rate)
        bar_step = step % 16
        if kick_pattern >> (15 - bar_step) & 1:
            _place(drums, kick, at, 0.9)
        if bar_step in (4, 12):
            _place(drums, snare, at, 0.7)
        if step % 2 == 0 or noise.random() < 0.2:
            _place(drums, hat, at, 0.5 + 0.3 * (step % 4 == 2))
        if bar_step % 2 == 0:
            note = riff[(step // 2) % len(riff)]
            hz = root * 2 ** (note / 12)
            length = int(sixteenth * 2 * rate * 0.9)
            t = np.arange(length) / rate
            tone = np.sin(2 * np.pi * hz * t) + 0.3 * np.sin(2 * np.pi * 2 * hz * t)
            _place(bass, tone * np.minimum(1, t * 200) * np.exp(-t * 3), at, 0.45)
    chord_hz = root * 4 * np.array([1, 2 ** (scale[1] / 12), 2 ** (7 / 12)])
    t = np.arange(frames) / rate
    pad = sum(np.sin(2 * np.pi * hz * t + i) for i, hz in enumerate(chord_hz)) * 0.05 * (1 + np.sin(t * 0.5)) / 2
    left = drums * 0.8 + bass + pad
    right = drums * 0.8 + bass + np.roll(pad, int(0.012 * rate))
    mix = np.stack([left, right], axis=1)
    mix *= 0.8 / max(1e-9, float(np.max(np.abs(mix))))
    fade = min(frames, int(0.05 * rate))
    mix[-fade:] *= np.linspace(1, 0, fade)[:, None]
    return mix.astype(np.float32)


def voice_tag(*, rate: int = RATE, seed: int = 7) -> np.ndarray:
    """About a second of a voice-like call (“book-desk”): two vowel-formant syllables over a gliding pitch."""
    syllables = [(0.0, 0.32, 150, (700, 1200)), (0.42, 0.45, 125, (500, 1800))]
    frames = int(1.0 * rate)
    out = np.zeros(frames)
    noise = np.random.default_rng(seed)
    for start, length, pitch, formants in syllables:
        n = int(length * rate)
        t = np.arange(n) / rate
        f0 = pitch * (1 + 0.08 * np.sin(2 * np.pi * 5 * t)) * (1 - 0.15 * t / length)
        phase = 2 * np.pi * np.cumsum(f0) / rate
        tone = sum(np.sin(k * phase) * _formant_gain(k * pitch, formants) for k in range(1, 30))
        envelope = np.sin(np.pi * np.arange(n) / n) ** 0.5
        burst = noise.uniform(-1, 1, n) * np.exp(-t * 60) * 0.3  # the consonant
        _place(out, (tone / 6 + burst) * envelope, int(start * rate))
    out *= 0.9 / max(1e-9, float(np.max(np.abs(out))))
    return out.astype(np.float32)[:, None]


def _formant_gain(hz: float, formants: tuple[int, int]) -> float:
    return sum(1 / (1 + ((hz - f) / 120) ** 2) for f in formants) + 0.05


def wav_bytes(samples: np.ndarray, *, rate: int = RATE, subtype: str = "PCM_16", format: str = "WAV") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, subtype=subtype, format=format)
    return buffer.getvalue()


def cover_png(*, title: str, subtitle: str, seed: int, size: int = 600) -> bytes:
    """Square cover art: a two-colour gradient, circles, the title."""
    rng = np.random.default_rng(seed)
    hue = float(rng.random())
    top = np.array(colorsys.hsv_to_rgb(hue, 0.65, 0.55)) * 255
    bottom = np.array(colorsys.hsv_to_rgb((hue + 0.15) % 1, 0.8, 0.18)) * 255
    ramp = np.linspace(0, 1, size)[:, None, None]
    pixels = (top * (1 - ramp) + bottom * ramp).repeat(size, axis=1).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(6):
        x, y = rng.integers(0, size, 2)
        r = int(rng.integers(size // 10, size // 3))
        shade = tuple(int(v) for v in np.array(colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.5, 1.0)) * 255)
        draw.ellipse((x - r, y - r, x + r, y + r), outline=(*shade, 150), width=int(rng.integers(2, 9)))
    font = ImageFont.load_default(size=size // 11)
    small = ImageFont.load_default(size=size // 24)
    draw.text((size // 14, size - size // 4), title, fill=(255, 255, 255, 240), font=font)
    draw.text((size // 14, size - size // 9), subtitle, fill=(255, 255, 255, 190), font=small)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
