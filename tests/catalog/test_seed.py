"""`bookdesk seed`: the demo catalog it promises, and running it twice changes nothing."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import soundfile as sf
from django.core.management import call_command

from bookdesk.accounts.models import User
from bookdesk.catalog.models import AudioStatus, Course, License, OpeningHours, Product, Resource, Service, VoiceTag
from bookdesk.catalog.selectors import service_list
from bookdesk.orders.availability import course_list, product_list

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


def snapshot() -> dict[str, object]:
    return {
        "courses": sorted(Course.objects.values_list("id", "slug", "capacity", "price_amount")),
        "resources": sorted(Resource.objects.values_list("id", "name")),
        "hours": sorted(OpeningHours.objects.values_list("id", "resource_id", "weekday", "opens_at", "closes_at")),
        "services": sorted(Service.objects.values_list("id", "slug", "duration_minutes", "resources")),
        "products": sorted(Product.objects.values_list("id", "slug", "kind", "file")),
        "licenses": sorted(License.objects.values_list("id", "product_id", "tier", "price_amount")),
    }


def test_seed_twice_leaves_the_same_rows(capsys):
    call_command("seed")
    first = snapshot()
    call_command("seed")

    assert snapshot() == first
    assert "courses" in capsys.readouterr().out


def test_seed_creates_the_stated_catalog(settings):
    call_command("seed")

    courses = list(course_list())
    assert len(courses) >= 5
    assert len({course.price_amount for course in courses}) >= 4
    assert len({course.starts_at.date() for course in courses}) == len(courses)
    assert any(course.is_past and not course.is_bookable for course in courses)
    assert any(course.capacity <= 3 and course.is_bookable for course in courses)
    assert all(course.currency == "eur" for course in courses)

    services = {service.name: service for service in service_list()}
    assert {name: service.duration_minutes for name, service in services.items()} == {
        "Recording session": 120,
        "Mixing": 60,
        "Production lesson": 90,
    }
    assert set(Resource.objects.values_list("name", flat=True)) == {"Studio A", "Engineer Sam"}
    for resource in Resource.objects.all():
        weekdays = set(resource.opening_hours.values_list("weekday", flat=True))
        assert weekdays == {0, 1, 2, 3, 4, 5}  # Monday to Saturday
    sam, studio = Resource.objects.get(name="Engineer Sam"), Resource.objects.get(name="Studio A")
    assert set(sam.opening_hours.values_list("opens_at", "closes_at")) != set(
        studio.opening_hours.values_list("opens_at", "closes_at")
    )

    products = list(product_list())
    beats = [product for product in products if not product.ships]
    assert len(beats) >= 12
    assert len({beat.genre for beat in beats}) >= 6
    assert len({beat.mood for beat in beats}) >= 5
    assert len({beat.musical_key for beat in beats}) >= 10
    assert all(40 <= beat.bpm <= 300 for beat in beats)
    assert VoiceTag.objects.get().file
    for beat in beats:
        prices = {license.tier: license.price_amount for license in beat.licenses.all()}
        assert set(prices) == {"basic", "premium", "exclusive"}
        assert prices["basic"] < prices["premium"] < prices["exclusive"]
        assert prices["exclusive"] >= 3 * prices["premium"]
        assert beat.master.name.startswith("masters/")
        assert sf.info(Path(settings.MEDIA_ROOT) / beat.master.name).duration >= 15  # real, synthesised sound
        assert beat.cover.name.endswith(".png")
        assert zipfile.is_zipfile(Path(settings.MEDIA_ROOT) / beat.stems.name)
        assert beat.audio_status == AudioStatus.PENDING  # the worker (or `seed --derive`) makes the rest
        deliverables = {license.tier: license.deliverables for license in beat.licenses.all()}
        assert deliverables == {
            "basic": ["mp3"],
            "premium": ["mp3", "wav", "stems"],
            "exclusive": ["mp3", "wav", "stems"],
        }
    physical = [product for product in products if product.ships]
    assert [product.title for product in physical] == ["Vinyl: Night Sessions LP"]
    assert physical[0].price_amount
    assert (physical[0].stock, physical[0].weight_grams) == (25, 320)  # a record in stock, weighed for shipping


def test_seed_creates_no_users():
    call_command("seed")
    assert not User.objects.exists()
