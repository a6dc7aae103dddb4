"""The beat store's figures (DESIGN §8):

- preview streaming with byte ranges at 1 and 32 clients, against a static file of the same size served by
  the same server (whitenoise) with the same ranges: target ≥ 0.5 of its rate;
- GET /api/products with beat filters over 10,000 beats on PostgreSQL: p95 ≤ 30 ms, next to a bare endpoint;
- licence agreement PDF: CPU per document (target ≤ 30 ms);
- the worker's time to derive a 3-minute master (MP3 320 kbps, tagged preview, waveform).

    .venv/bin/python bench/bench_beats.py [--seconds 6] [--beats 10000]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path
from typing import Any

from benchkit import (
    app_env,
    bench_database,
    free_port,
    migrate,
    ms,
    print_header,
    run_bench,
    run_script,
    web_serving,
)
from benchload import Connection, Run, run_load

SETUP = r"""
import time
from django.core.files.base import ContentFile
from bookdesk.catalog import demo_media
from bookdesk.catalog.audio_services import audio_derive_due, beat_audio_request
from bookdesk.catalog.models import Genre, License, Mood, MusicalKey, Product, VoiceTag
from bookdesk.notifications.licences import AgreementFacts, licence_pdf

count, derive = int(sys.argv[1]), sys.argv[2] == "derive"
rng = __import__("random").Random(7)
genres, moods, keys = list(Genre.values), list(Mood.values), list(MusicalKey.values)
products = [
    Product(title=f"Beat {n}", slug=f"beat-{n}", kind="digital", genre=rng.choice(genres),
            mood=rng.choice(moods), bpm=rng.randint(60, 180), musical_key=rng.choice(keys),
            description=f"A {rng.choice(moods)} loop number {n}.")
    for n in range(count)
]
Product.objects.bulk_create(products, batch_size=2000)
ids = list(Product.objects.values_list("pk", flat=True))
everything = ["mp3", "wav", "stems"]
tiers = [("basic", 2999, ["mp3"]), ("premium", 7999, everything), ("exclusive", 49900, everything)]
License.objects.bulk_create(
    [License(product_id=pk, tier=t, name=t.title(), price_amount=p + rng.randint(0, 2000),
             exclusive=t == "exclusive", deliverables=d) for pk in ids for t, p, d in tiers],
    batch_size=5000,
)

if not derive:
    print(json.dumps({"product": ids[0], "size": 0}))
    raise SystemExit
tag = VoiceTag(interval_seconds=10)
tag.file.save("tag.wav", ContentFile(demo_media.wav_bytes(demo_media.voice_tag())), save=True)
beat = Product.objects.get(pk=ids[0])
three_minutes = demo_media.wav_bytes(demo_media.beat(bpm=92, key="Am", seconds=180))
beat.master.save("master.wav", ContentFile(three_minutes), save=True)
beat_audio_request(product_ids=[beat.pk])
started, cpu = time.perf_counter(), time.process_time()
audio_derive_due(limit=1)
derive_wall, derive_cpu = time.perf_counter() - started, time.process_time() - cpu
beat.refresh_from_db()
assert beat.audio_status == "ready", beat.audio_error

facts = AgreementFacts(number="LIC-BENCH-000001", licensor="bookdesk studio", licensor_address="",
    licensee="Ada Lovelace", licensee_email="ada@example.com", beat="Midnight Drive", bpm=92, key="A minor",
    tier="Premium lease", exclusive=False,
    deliverables=["MP3 (320 kbps)", "WAV (untagged master)", "Track stems (ZIP)"],
    terms=["Up to 500,000 audio streams", "Up to 10,000 sold copies", "Up to 3 music videos", "Up to 2 radio stations",
           "Credit required"], notes="For a proper release.", price="€79.99", order_code="BD-BENCH1",
    date=__import__("django.utils.timezone", fromlist=["now"]).now())
licence_pdf(facts)
cpu = time.process_time()
for _ in range(100):
    licence_pdf(facts)
pdf_cpu = (time.process_time() - cpu) / 100
print(json.dumps({"product": beat.pk, "preview": beat.preview.path, "size": beat.preview.size,
                  "derive_wall": derive_wall, "derive_cpu": derive_cpu, "pdf_cpu": pdf_cpu}))
"""

FILTERS_WITHOUT_TEXT = [
    "/api/products?genre=trap&bpm_min=120&bpm_max=160",
    "/api/products?key=Am&sort=bpm",
    "/api/products?genre=hip-hop&mood=dark",
    "/api/products?bpm_min=85&bpm_max=95&sort=price",
    "/api/products?mood=chill&key=Ebm&sort=newest",
]
FILTERS = [*FILTERS_WITHOUT_TEXT, "/api/products?q=dark&genre=lo-fi"]


def _ranged(base: str, path: str, size: int, chunk: int) -> Any:
    """A client that asks for `chunk` bytes at a random place, as a player seeking does."""

    def make() -> Any:
        conn, rng = Connection(base), random.Random()

        def call() -> str | None:
            start = rng.randrange(0, max(1, size - chunk))
            status, body = conn.send("GET", path, headers={"Range": f"bytes={start}-{start + chunk - 1}"})
            if status != 206 or len(body) != chunk:
                return f"{status}: {len(body)} bytes"
            return None

        return call

    return make


def _get(base: str, paths: list[str]) -> Any:
    def make() -> Any:
        conn, turn = Connection(base), iter(range(10**9))

        def call() -> str | None:
            status, body = conn.send("GET", paths[next(turn) % len(paths)])
            return None if status == 200 else f"{status}: {body[:120]!r}"

        return call

    return make


def _line(label: str, run: Run, extra: str = "") -> None:
    print(
        f"{label:<44} {run.rate:>9.1f}/s  p50 {ms(run.percentile(0.5)):>9}  p95 {ms(run.percentile(0.95)):>9}  "
        f"errors {run.errors}{extra}"
    )


def bench(
    pg: str, logs: Path, *, seconds: float, beats: int, workers: int, threads: int, api_only: bool = False
) -> int:
    with bench_database(pg, "bench_beats") as url:
        data = logs / "data"
        data.mkdir()
        env = app_env(url, data)
        migrate(env)
        import json

        step = "api" if api_only else "derive"
        output = run_script(SETUP, [str(beats), step], env, "setup", timeout=1800)
        facts = json.loads(output.strip().splitlines()[-1])
        size = int(facts["size"])
        print_header(f"beats: {beats} beats on PostgreSQL; preview {size / 1e6:.2f} MB; {workers}×{threads} server")
        if not api_only:
            static = data / "static" / "bench"
            static.mkdir(parents=True, exist_ok=True)
            shutil.copy(facts["preview"], static / "preview-copy.mp3")
            wall, cpu = facts["derive_wall"], facts["derive_cpu"]
            print(f"worker: derive a 3-minute master          {wall:.2f} s wall, {cpu:.2f} s CPU")
            pdf = facts["pdf_cpu"] * 1000
            print(f"licence agreement PDF                     {pdf:.1f} ms CPU per document (target ≤ 30)")

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with web_serving("serve", port, env, logs, workers=workers, threads=threads):
            preview = f"/products/{facts['product']}/preview.mp3"
            static_path = "/static/bench/preview-copy.mp3"
            for clients in () if api_only else (1, 32):
                for chunk in (256 * 1024, size // 2):
                    ours = run_load(_ranged(base, preview, size, chunk), clients, seconds)
                    plain = run_load(_ranged(base, static_path, size, chunk), clients, seconds)
                    ratio = ours.rate / plain.rate if plain.rate else float("nan")
                    _line(f"preview ranges {chunk // 1024} KB, {clients} clients", ours, f"  ratio {ratio:.2f} (≥ 0.5)")
                    _line(f"static file same ranges, {clients} clients", plain)
            for clients in (1, 8):
                bare = run_load(_get(base, ["/healthz"]), clients, seconds)
                found = run_load(_get(base, FILTERS_WITHOUT_TEXT), clients, seconds)
                text = run_load(_get(base, FILTERS[-1:]), clients, seconds)
                _line(f"bare /healthz, {clients} clients", bare)
                _line(f"GET /api/products filtered, {clients} clients", found, "  (p95 ≤ 30 ms)")
                _line(f"GET /api/products q= full text, {clients} clients", text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--beats", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--api-only", action="store_true", help="Only GET /api/products (no derivation, no preview).")
    args = parser.parse_args(argv)
    return run_bench(
        "beats",
        lambda pg, logs: bench(
            pg,
            logs,
            seconds=args.seconds,
            beats=args.beats,
            workers=args.workers,
            threads=args.threads,
            api_only=args.api_only,
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
