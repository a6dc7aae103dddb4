"""Finding beats through GET /api/products and the catalog page: genre, mood, key, BPM, price, free text and
sort; a bad filter is a 422 naming it, a reversed range finds nothing; the number of queries does not grow
with the page."""

from __future__ import annotations

import pytest
from django.db import connection

from bookdesk.catalog.models import License
from factories import BeatFactory, PhysicalProductFactory

pytestmark = pytest.mark.django_db


def _beat(title, *, bpm, key, genre, mood, basic=2999, description=""):  # type: ignore[no-untyped-def]
    beat = BeatFactory(
        title=title,
        bpm=bpm,
        musical_key=key,
        genre=genre,
        mood=mood,
        description=description,
        basic__price_amount=basic,
    )
    License.objects.filter(product=beat).update(deliverables=["mp3"])
    return beat


@pytest.fixture
def catalog():  # type: ignore[no-untyped-def]
    return {
        "drive": _beat("Midnight Drive", bpm=92, key="Am", genre="hip-hop", mood="dark", basic=2999,
                       description="A rolling bassline under soft pads."),
        "rain": _beat("Neon Rain", bpm=140, key="Fm", genre="trap", mood="energetic", basic=3999),
        "smoke": _beat("Velvet Smoke", bpm=70, key="Ebm", genre="lo-fi", mood="chill", basic=1999,
                       description="Hazy and mellow."),
        "hour": _beat("Golden Hour", bpm=85, key="D", genre="rnb", mood="romantic", basic=2499),
        "vinyl": PhysicalProductFactory(title="Night Sessions vinyl"),
    }  # fmt: skip


def titles(client, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/products?{query}")
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("genre=trap", ["Neon Rain"]),
        ("mood=chill", ["Velvet Smoke"]),
        ("key=Ebm", ["Velvet Smoke"]),
        ("key=Am", ["Midnight Drive"]),
        ("bpm_min=80&bpm_max=100", ["Golden Hour", "Midnight Drive"]),
        ("bpm_min=100", ["Neon Rain"]),
        ("bpm_max=80", ["Velvet Smoke"]),
        ("price_max=2500", ["Golden Hour", "Velvet Smoke"]),
        ("price_min=3000&kind=digital", ["Neon Rain"]),
        ("q=bassline", ["Midnight Drive"]),
        ("q=bass", ["Midnight Drive"]),
        ("q=velvet", ["Velvet Smoke"]),
        ("q=HAZY mellow", ["Velvet Smoke"]),
        ("q=lo-fi", ["Velvet Smoke"]),
        ("q=nothing-like-this", []),
        ("genre=hip-hop&mood=sad", []),
        ("sort=bpm&kind=digital", ["Velvet Smoke", "Golden Hour", "Midnight Drive", "Neon Rain"]),
        ("sort=-bpm&kind=digital", ["Neon Rain", "Midnight Drive", "Golden Hour", "Velvet Smoke"]),
        ("sort=price&kind=digital", ["Velvet Smoke", "Golden Hour", "Midnight Drive", "Neon Rain"]),
    ],
)
def test_filters_and_search(client, catalog, query, expected):
    found = titles(client, query)
    assert (found if "sort" in query else sorted(found)) == expected


def test_newest_first(client, catalog):
    assert titles(client, "sort=newest")[0] == "Night Sessions vinyl"


def test_a_beat_carries_its_musical_fields_and_tiers_their_deliverables_and_terms(client, catalog):
    License.objects.filter(product=catalog["drive"], tier="premium").update(
        deliverables=["mp3", "wav", "stems"], streams_limit=500_000, radio_stations_limit=2, credit_required=True
    )
    (beat,) = client.get("/api/products?key=Am").json()["items"]

    assert {k: beat[k] for k in ("bpm", "key", "genre", "mood")} == {
        "bpm": 92, "key": "Am", "genre": "hip-hop", "mood": "dark"
    }  # fmt: skip
    assert beat["preview_url"] is None
    assert beat["cover_url"] is None
    assert beat["waveform"] == []
    tiers = {tier["tier"]: tier for tier in beat["licenses"]}
    assert tiers["basic"]["deliverables"] == ["mp3"]
    assert tiers["premium"]["deliverables"] == ["mp3", "wav", "stems"]
    assert tiers["premium"]["terms"] == {
        "streams": 500_000, "copies": None, "music_videos": None, "radio_stations": 2, "credit_required": True,
        "notes": "",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("key=H", "key"),
        ("key=am", "key"),
        ("genre=polka", "genre"),
        ("mood=furious", "mood"),
        ("bpm_min=39", "bpm_min"),
        ("bpm_max=301", "bpm_max"),
        ("bpm_min=fast", "bpm_min"),
        ("price_min=-1", "price_min"),
        ("sort=random", "sort"),
        ("kind=vinyl", "kind"),
        ("q=" + "x" * 101, "q"),
    ],
)
def test_a_bad_filter_is_a_422_problem_naming_it(client, catalog, query, field):
    response = client.get(f"/api/products?{query}")
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "invalid"
    assert [error["field"] for error in body["errors"]] == [field]


def test_a_reversed_range_is_no_error_and_finds_nothing(client, catalog):
    # Schema-valid values are answered (the OpenAPI document's promise, held by schemathesis), never refused.
    assert titles(client, "bpm_min=120&bpm_max=100") == []
    assert titles(client, "price_min=3000&price_max=2000") == []


def test_the_number_of_queries_does_not_grow_with_the_page(client, django_assert_max_num_queries):
    _beat("One", bpm=90, key="C", genre="pop", mood="happy")
    with django_assert_max_num_queries(10) as few:
        client.get("/api/products?genre=pop&bpm_min=80&sort=bpm")
    for n in range(15):
        _beat(f"Beat {n}", bpm=90 + n, key="C", genre="pop", mood="happy")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(titles(client, "genre=pop&bpm_min=80&sort=bpm")) == 16


def test_full_text_search_on_postgresql_uses_its_search():
    from bookdesk.catalog.models import Product
    from bookdesk.catalog.search import BeatFilters, beats_filter

    sql = str(beats_filter(Product.objects.all(), BeatFilters(q="bass")).query)
    if connection.vendor == "postgresql":
        assert "to_tsvector" in sql
        assert "to_tsquery" in sql
    else:
        assert "LIKE" in sql


def test_the_catalog_page_filters_beats_and_explains_a_bad_filter(client, catalog):
    page = client.get("/?bpm_min=80&bpm_max=100")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Midnight Drive" in html
    assert "Golden Hour" in html
    assert "Neon Rain" not in html

    bad = client.get("/?key=H")
    assert bad.status_code == 400
    assert "unknown key" in bad.content.decode()
    assert "Neon Rain" in bad.content.decode()
