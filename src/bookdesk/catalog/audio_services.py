"""Writes on a beat's audio: ask for a derivation, and derive (in the worker, never in a request).

The worker claims one `pending` beat at a time (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's
write lock serialises workers), marks it `running`, derives the MP3, the tagged preview and the waveform
into temporary files outside any transaction, then swaps them in with the new status in one short
transaction — only if the master is still the one it derived from. A file that cannot become a beat
leaves the beat `failed` with the reason, and its previous derived files untouched: nothing half-saved.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, cast

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from bookdesk.catalog import audio
from bookdesk.catalog.models import AudioStatus, Product, VoiceTag

logger = logging.getLogger("bookdesk.catalog")

# A `running` claim older than this belonged to a worker that died: it is taken again.
STALE_CLAIM = timedelta(minutes=15)
MP3_KBPS = 320


def max_master_seconds() -> float:
    return float(getattr(settings, "BEAT_MAX_SECONDS", 600))


def preview_kbps() -> int:
    return int(getattr(settings, "BEAT_PREVIEW_KBPS", 128))


@transaction.atomic
def beat_audio_request(*, product_ids: list[int]) -> int:
    """Ask the worker to (re)derive these beats' audio; beats without a master are marked as such."""
    now = timezone.now()
    asked = (
        Product.objects.filter(pk__in=product_ids)
        .exclude(master="")
        .update(audio_status=AudioStatus.PENDING, audio_error="", audio_updated_at=now)
    )
    Product.objects.filter(pk__in=product_ids, master="").update(
        audio_status=AudioStatus.NONE, audio_error="", audio_updated_at=now
    )
    return asked


def beat_audio_request_all() -> int:
    """The voice tag changed: every beat with a master gets a new preview."""
    ids = list(Product.objects.exclude(master="").values_list("pk", flat=True))
    return beat_audio_request(product_ids=ids)


def _claimable() -> QuerySet[Product]:
    stale = timezone.now() - STALE_CLAIM
    return Product.objects.filter(
        Q(audio_status=AudioStatus.PENDING) | Q(audio_status=AudioStatus.RUNNING, audio_updated_at__lt=stale)
    ).order_by("audio_updated_at", "pk")


@dataclass(frozen=True)
class _Claim:
    product_id: int
    master: str
    claimed_at: object


def _claim() -> _Claim | None:
    with transaction.atomic():
        rows = _claimable()
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        product = rows.first()
        if product is None:
            return None
        now = timezone.now()
        Product.objects.filter(pk=product.pk).update(audio_status=AudioStatus.RUNNING, audio_updated_at=now)
        return _Claim(product_id=product.pk, master=product.master.name or "", claimed_at=now)


@dataclass(frozen=True)
class Derived:
    mp3: Path
    preview: Path
    waveform: list[float]
    duration_seconds: int


def derive_files(*, master: str | Path, voice_tag: VoiceTag | None, workdir: Path) -> Derived:
    """Decode and check the master, then write the MP3 and the tagged preview into `workdir`."""
    music = audio.decode(master)
    audio.check_master(music, max_seconds=max_master_seconds())
    mp3 = workdir / "full.mp3"
    preview = workdir / "preview.mp3"
    audio.encode_mp3(music, mp3, kbps=MP3_KBPS)
    if voice_tag is not None and voice_tag.file:
        with voice_tag.file.open("rb") as handle:
            tag = audio.decode(cast(BinaryIO, handle), what="voice tag")
        tagged = audio.mix_tag(
            audio.for_mp3(music), tag, interval_seconds=voice_tag.interval_seconds, gain=voice_tag.gain
        )
    else:
        tagged = music  # no tag uploaded yet: the preview is the lower-bitrate MP3 alone
    audio.encode_mp3(tagged, preview, kbps=preview_kbps())
    return Derived(mp3=mp3, preview=preview, waveform=audio.peaks(music), duration_seconds=max(1, round(music.seconds)))


def beat_audio_derive_next() -> bool:
    """Claim one beat that waits for its audio and derive it; False when none waits."""
    claim = _claim()
    if claim is None:
        return False
    product = Product.objects.get(pk=claim.product_id)
    started = timezone.now()
    try:
        with tempfile.TemporaryDirectory(prefix="bookdesk-audio-") as workdir:
            with product.master.open("rb") as handle:
                local_master = Path(workdir) / "master"
                with local_master.open("wb") as copy:
                    for chunk in handle.chunks():
                        copy.write(chunk)
            derived = derive_files(master=local_master, voice_tag=VoiceTag.objects.first(), workdir=Path(workdir))
            _swap_in(claim, derived)
    except audio.AudioProblem as problem:
        _fail(claim, str(problem))
    except Exception as exc:
        logger.exception("deriving the audio of product %s failed", claim.product_id)
        _fail(claim, f"The audio could not be derived ({type(exc).__name__}); the worker log has the details.")
    else:
        logger.info(
            "derived the audio of product %s in %.1f s", claim.product_id, (timezone.now() - started).total_seconds()
        )
    return True


def _stored_name(product: Product, kind: str, path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"derived/{product.slug}-{kind}-{digest}.mp3"


def _swap_in(claim: _Claim, derived: Derived) -> None:
    """Save the new files and point the beat at them, in one transaction; the old files go once it commits."""
    saved: list[str] = []
    try:
        with transaction.atomic():
            product = Product.objects.select_for_update().get(pk=claim.product_id)
            if product.master.name != claim.master or product.audio_status != AudioStatus.RUNNING:
                logger.info("product %s changed while its audio was derived; leaving it to the next claim", product.pk)
                return
            old = [name for name in (product.mp3.name, product.preview.name) if name]
            for kind, path in (("mp3", derived.mp3), ("preview", derived.preview)):
                with path.open("rb") as handle:
                    saved.append(default_storage.save(_stored_name(product, kind, path), File(handle)))
            product.mp3.name, product.preview.name = saved
            product.waveform = derived.waveform
            product.duration_seconds = derived.duration_seconds
            product.audio_status = AudioStatus.READY
            product.audio_error = ""
            product.audio_updated_at = timezone.now()
            product.save(
                update_fields=[
                    "mp3", "preview", "waveform", "duration_seconds", "audio_status", "audio_error", "audio_updated_at"
                ]
            )  # fmt: skip
            stale = [name for name in old if name not in saved]
            transaction.on_commit(lambda: _delete(stale))
    except Exception:
        _delete(saved)  # the rows rolled back: the new files are nobody's
        raise


def _delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete the old derived file %s", name)


@transaction.atomic
def _fail(claim: _Claim, reason: str) -> None:
    Product.objects.filter(pk=claim.product_id, master=claim.master, audio_status=AudioStatus.RUNNING).update(
        audio_status=AudioStatus.FAILED, audio_error=reason[:1000], audio_updated_at=timezone.now()
    )


def audio_derive_due(*, limit: int = 1) -> int:
    """Derive up to `limit` waiting beats (one at a time: each takes seconds); returns how many were taken."""
    done = 0
    while done < limit and beat_audio_derive_next():
        done += 1
    return done
