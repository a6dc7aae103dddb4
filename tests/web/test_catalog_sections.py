"""The catalog beyond the home page: the home page lists each section's first items and links to the section's
own pages (/courses, /beats with the beat filters, /goods), which list a page at a time with the search and the
filters kept from page to page; a page number out of range or not a number still answers with a page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookdesk.catalog.models import Genre
from bookdesk.web.views import HOME_ITEMS, PAGE_ITEMS
from factories import BeatFactory, CourseFactory, PhysicalProductFactory

pytestmark = pytest.mark.django_db


def courses(count: int, **extra: Any) -> list[Any]:
    """`count` upcoming courses, a day apart, the first tomorrow (the home page lists the soonest)."""
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
    return [
        CourseFactory(title=f"Course {n:03d}", starts_at=start + dt.timedelta(days=n), **extra) for n in range(count)
    ]


def titles(html: str, pattern: str) -> list[str]:
    return re.findall(pattern, html)


def test_the_home_page_lists_a_section_s_first_items_and_links_to_the_rest(client: Client) -> None:
    courses(HOME_ITEMS + 1)
    for n in range(HOME_ITEMS + 1):
        BeatFactory(title=f"Beat {n:03d}")
    for n in range(3):
        PhysicalProductFactory(title=f"Vinyl {n:03d}")
    html = client.get("/").content.decode()
    assert titles(html, r"Course \d{3}") == [f"Course {n:03d}" for n in range(HOME_ITEMS)]  # the soonest
    assert len(set(titles(html, r"Beat \d{3}"))) == HOME_ITEMS
    assert 'href="/courses">See all upcoming courses' in html
    assert 'href="/beats">See all beats' in html
    assert len(set(titles(html, r"Vinyl \d{3}"))) == 3
    assert "See all products" not in html  # three are all there are


def test_a_section_lists_a_page_at_a_time_and_keeps_the_search(client: Client) -> None:
    courses(PAGE_ITEMS + 5, location="Hall B")
    courses(2, location="Room A")  # never matches "hall"
    first = client.get("/courses", {"q": "hall"}).content.decode()
    assert titles(first, r"Course \d{3}")[:2] == ["Course 000", "Course 001"]
    assert len(titles(first, r"Course \d{3}")) == PAGE_ITEMS
    assert f"{PAGE_ITEMS + 5} in all · page 1 of 2" in first
    assert 'href="?q=hall&amp;page=2"' in first
    second = client.get("/courses", {"q": "hall", "page": "2"}).content.decode()
    assert len(titles(second, r"Course \d{3}")) == 5
    assert 'href="?q=hall&amp;page=1"' in second
    assert "Next →" not in second


@pytest.mark.parametrize(("page", "shown"), [("99999999999", 2), ("-1", 1), ("two", 1), ("", 1), ("²", 1), ("١٢", 1)])
def test_a_page_number_out_of_range_or_not_a_number_still_shows_a_page(client: Client, page: str, shown: int) -> None:
    courses(PAGE_ITEMS + 1)
    response = client.get("/courses", {"page": page})
    assert response.status_code == 200
    assert f"page {shown} of 2" in response.content.decode()


def test_the_beats_pages_keep_their_filters(client: Client) -> None:
    for n in range(PAGE_ITEMS + 1):
        BeatFactory(title=f"Trap {n:03d}", genre=Genre.TRAP, bpm=140)
    BeatFactory(title="Lofi 000", genre=Genre.LOFI, bpm=80)
    home = client.get("/", {"genre": "trap"}).content.decode()
    assert 'href="/beats?genre=trap">See all beats that match' in home
    first = client.get("/beats", {"genre": "trap", "sort": "title"}).content.decode()
    assert titles(first, r"Trap \d{3}") == [f"Trap {n:03d}" for n in range(PAGE_ITEMS)]
    assert "Lofi 000" not in first
    assert 'href="?genre=trap&amp;sort=title&amp;page=2"' in first
    assert '<option value="trap" selected>' in first  # the form shows what is chosen
    second = client.get("/beats", {"genre": "trap", "sort": "title", "page": "2"}).content.decode()
    assert titles(second, r"Trap \d{3}") == [f"Trap {PAGE_ITEMS:03d}"]


def test_bad_beat_filters_are_explained_and_every_beat_shown(client: Client) -> None:
    BeatFactory(title="Trap 000", genre=Genre.TRAP)
    response = client.get("/beats", {"bpm_min": "fast"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Showing every beat instead." in html
    assert "Trap 000" in html


def test_goods_have_their_own_pages_and_beats_are_not_among_them(client: Client) -> None:
    PhysicalProductFactory(title="Vinyl 000")
    BeatFactory(title="Trap 000")
    html = client.get("/goods").content.decode()
    assert "Vinyl 000" in html
    assert "Trap 000" not in html
    assert "1 in all" in html


def test_an_empty_section_says_so(client: Client) -> None:
    assert "No upcoming course is listed right now." in client.get("/courses").content.decode()
    assert "No beat matches “nothing”" in client.get("/beats", {"q": "nothing"}).content.decode()


@pytest.mark.parametrize("path", ["/courses", "/beats", "/goods"])
def test_a_section_page_takes_a_fixed_number_of_queries(
    client: Client, path: str, django_assert_max_num_queries: Any
) -> None:
    courses(PAGE_ITEMS + 3)
    for n in range(PAGE_ITEMS + 3):
        BeatFactory(title=f"Beat {n:03d}")
        PhysicalProductFactory(title=f"Vinyl {n:03d}")
    client.get(path)  # the session and the cart first made
    # The count, the page, the page's licenses (beats and goods), the session's cart.
    with django_assert_max_num_queries(5):
        assert client.get(path, {"page": "2"}).status_code == 200


FIELDS = ["q", "page", "genre", "mood", "key", "bpm_min", "bpm_max", "price_min", "price_max", "sort"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/", "/courses", "/beats", "/goods"]),
    query=st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=30) | st.integers().map(str), max_size=5),
)
def test_whatever_a_catalog_page_is_asked_it_answers_with_a_page(client: Client, path: str, query: dict) -> None:
    response = client.get(path, query)
    assert response.status_code in (200, 400), (path, query, response.status_code)
    assert "<html" in response.content.decode()
