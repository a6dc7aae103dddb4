"""The public catalog API: shapes, paging, filters, problem+json errors and bounded queries."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bookdesk.catalog.models import License
from bookdesk.catalog.selectors import business_today
from factories import (
    BeatFactory,
    CourseFactory,
    OpeningHoursFactory,
    PhysicalProductFactory,
    ResourceFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def in_days(days: float, hours: float = 0) -> dt.datetime:
    return timezone.now().replace(microsecond=0) + dt.timedelta(days=days, hours=hours)


def assert_problem(response, *, status: int, code: str, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert {"type", "title", "detail"} <= body.keys()
    if field is not None:
        assert field in [error["field"] for error in body["errors"]]
    return body


# --- courses ---------------------------------------------------------------------------------------


def test_course_list_item_shape(client):
    course = CourseFactory(
        title="Mixing Fundamentals",
        slug="mixing-fundamentals",
        description="EQ and compression.",
        starts_at=in_days(7),
        ends_at=in_days(7, hours=3),
        location="Studio A",
        capacity=12,
        price_amount=14900,
    )

    response = client.get("/api/courses")

    assert response.status_code == 200
    body = response.json()
    assert (body["page"], body["pages"], body["total"]) == (1, 1, 1)
    (item,) = body["items"]
    assert item == {
        "id": course.pk,
        "title": "Mixing Fundamentals",
        "slug": "mixing-fundamentals",
        "description": "EQ and compression.",
        "starts_at": item["starts_at"],
        "ends_at": item["ends_at"],
        "location": "Studio A",
        "capacity": 12,
        "seats_left": 12,
        "price": {"amount": 14900, "currency": "eur"},
        "bookable": True,
        "url": "/courses/mixing-fundamentals",
    }
    assert dt.datetime.fromisoformat(item["starts_at"]) == course.starts_at
    assert dt.datetime.fromisoformat(item["ends_at"]) == course.ends_at


def test_course_detail_and_a_past_course_is_not_bookable(client):
    past = CourseFactory(starts_at=in_days(-3), ends_at=in_days(-3, hours=2))

    response = client.get(f"/api/courses/{past.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == past.pk
    assert response.json()["bookable"] is False


def test_unpublished_and_unknown_courses_are_404_problems(client):
    hidden = CourseFactory(published=False)
    assert_problem(client.get(f"/api/courses/{hidden.pk}"), status=404, code="not_found")
    body = assert_problem(client.get("/api/courses/987654"), status=404, code="not_found")
    assert body["detail"] == "Course not found."
    assert client.get("/api/courses").json()["total"] == 0


def test_course_filters_upcoming_and_q(client):
    past = CourseFactory(title="Old mixing class", starts_at=in_days(-5), ends_at=in_days(-5, hours=2))
    mixing = CourseFactory(title="Mixing", starts_at=in_days(3), ends_at=in_days(3, hours=2))
    drums = CourseFactory(title="Drums", location="Drum room", starts_at=in_days(4), ends_at=in_days(4, hours=2))

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/courses{query}")
        assert response.status_code == 200
        return [item["id"] for item in response.json()["items"]]

    assert ids("") == [past.pk, mixing.pk, drums.pk]
    assert ids("?upcoming=true") == [mixing.pk, drums.pk]
    assert ids("?upcoming=false") == [past.pk]
    assert ids("?q=MIX") == [past.pk, mixing.pk]
    assert ids("?q=mix&upcoming=true") == [mixing.pk]
    assert ids("?q=drum%20room") == [drums.pk]
    assert ids("?q=nothing-like-this") == []


def test_course_paging(client):
    courses = [CourseFactory(starts_at=in_days(day), ends_at=in_days(day, hours=1)) for day in range(1, 6)]

    first = client.get("/api/courses?page=1&page_size=2").json()
    last = client.get("/api/courses?page=3&page_size=2").json()
    beyond = client.get("/api/courses?page=4&page_size=2").json()

    assert [item["id"] for item in first["items"]] == [courses[0].pk, courses[1].pk]
    assert (first["page"], first["pages"], first["total"]) == (1, 3, 5)
    assert [item["id"] for item in last["items"]] == [courses[4].pk]
    assert (beyond["items"], beyond["page"], beyond["pages"], beyond["total"]) == ([], 4, 3, 5)
    assert len(client.get("/api/courses").json()["items"]) == 5  # default page size 20


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-2", "page"),
        ("page=x", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
    ],
)
@pytest.mark.parametrize("path", ["/api/courses", "/api/services", "/api/products"])
def test_bad_paging_is_a_422_problem_naming_the_field(client, path, query, field):
    assert_problem(client.get(f"{path}?{query}"), status=422, code="invalid", field=field)


def test_bad_upcoming_is_a_422_problem(client):
    assert_problem(client.get("/api/courses?upcoming=maybe"), status=422, code="invalid", field="upcoming")


# --- services and slots ----------------------------------------------------------------------------


def test_service_list_shape(client):
    room, engineer = ResourceFactory(name="Studio A"), ResourceFactory(name="Engineer Sam")
    service = ServiceFactory(
        name="Mixing", slug="mixing", duration_minutes=60, price_amount=6000, resources=[room, engineer]
    )

    body = client.get("/api/services").json()

    assert (body["page"], body["pages"], body["total"]) == (1, 1, 1)
    assert body["items"] == [
        {
            "id": service.pk,
            "name": "Mixing",
            "slug": "mixing",
            "description": service.description,
            "duration_minutes": 60,
            "price": {"amount": 6000, "currency": "eur"},
            "resources": [{"id": engineer.pk, "name": "Engineer Sam"}, {"id": room.pk, "name": "Studio A"}],
            "url": f"/services/{service.pk}",
        }
    ]


def test_service_slots_shape(client, settings):
    settings.BOOKDESK_TIME_ZONE = "Europe/Berlin"
    day = business_today() + dt.timedelta(days=30)
    room = ResourceFactory()
    OpeningHoursFactory(resource=room, weekday=day.weekday(), opens_at=dt.time(9), closes_at=dt.time(12))
    service = ServiceFactory(duration_minutes=60, resources=[room])

    response = client.get(f"/api/services/{service.pk}/slots?date={day.isoformat()}")

    assert response.status_code == 200
    body = response.json()
    assert (body["service_id"], body["date"], body["time_zone"]) == (service.pk, day.isoformat(), "Europe/Berlin")
    assert len(body["slots"]) == 3
    first = body["slots"][0]
    assert set(first) == {"starts_at", "ends_at", "resource_ids"}
    assert first["resource_ids"] == [room.pk]
    starts_at = dt.datetime.fromisoformat(first["starts_at"])
    assert starts_at.utcoffset() == dt.timedelta(0)
    assert starts_at == dt.datetime.combine(day, dt.time(9), tzinfo=ZoneInfo("Europe/Berlin"))
    assert dt.datetime.fromisoformat(first["ends_at"]) - starts_at == dt.timedelta(hours=1)


@pytest.mark.parametrize("date", [None, "", "tomorrow", "2027-13-01", "2027-02-30"])
def test_missing_or_invalid_slot_date_is_a_422_problem(client, date):
    service = ServiceFactory()
    query = "" if date is None else f"?date={date}"
    assert_problem(client.get(f"/api/services/{service.pk}/slots{query}"), status=422, code="invalid", field="date")


@pytest.mark.parametrize("days", [366, -366, 5000, -700_000])
def test_a_day_more_than_a_year_away_has_no_free_slots(client, days):
    """A valid date is answered as what it is (no slot is bookable there), never refused (issue 16, item 8)."""
    room = ResourceFactory()
    for weekday in range(7):  # open every day, so only the horizon can leave the day empty
        OpeningHoursFactory(resource=room, weekday=weekday, opens_at=dt.time(0), closes_at=dt.time(23))
    service = ServiceFactory(duration_minutes=60, resources=[room])
    day = business_today() + dt.timedelta(days=days)
    response = client.get(f"/api/services/{service.pk}/slots?date={day.isoformat()}")
    assert response.status_code == 200, response.content
    assert response.json()["slots"] == []


def test_slot_date_a_year_away_is_accepted(client):
    service = ServiceFactory()
    day = business_today() + dt.timedelta(days=365)
    assert client.get(f"/api/services/{service.pk}/slots?date={day.isoformat()}").status_code == 200


def test_slots_of_unknown_or_unpublished_service_are_404_problems(client):
    hidden = ServiceFactory(published=False)
    day = (business_today() + dt.timedelta(days=1)).isoformat()
    assert_problem(client.get(f"/api/services/{hidden.pk}/slots?date={day}"), status=404, code="not_found")
    assert_problem(client.get(f"/api/services/987654/slots?date={day}"), status=404, code="not_found")


# --- products --------------------------------------------------------------------------------------


TERMS_UNSET = {
    "streams": None,
    "copies": None,
    "music_videos": None,
    "radio_stations": None,
    "credit_required": True,
    "notes": "",
}


def test_product_list_shape_with_licenses_and_a_physical_item(client):
    beat = BeatFactory(title="Midnight Drive", slug="midnight-drive")
    beat.licenses.filter(tier=License.Tier.PREMIUM).update(active=False)
    vinyl = PhysicalProductFactory(title="Vinyl: Night Sessions LP", slug="vinyl", price_amount=2800)
    licenses = {license.tier: license for license in beat.licenses.all()}

    body = client.get("/api/products").json()

    assert (body["page"], body["pages"], body["total"]) == (1, 1, 2)
    beat_item, vinyl_item = body["items"]
    assert beat_item == {
        "id": beat.pk,
        "title": "Midnight Drive",
        "slug": "midnight-drive",
        "kind": "digital",
        "description": beat.description,
        "ships": False,
        "price": None,
        "licenses": [
            {
                "id": licenses["basic"].pk,
                "tier": "basic",
                "name": "Basic lease",
                "price": {"amount": 2999, "currency": "eur"},
                "exclusive": False,
                "available": True,
                "deliverables": [],
                "terms": TERMS_UNSET,
            },
            {
                "id": licenses["exclusive"].pk,
                "tier": "exclusive",
                "name": "Exclusive",
                "price": {"amount": 49900, "currency": "eur"},
                "exclusive": True,
                "available": True,
                "deliverables": [],
                "terms": TERMS_UNSET,
            },
        ],
        "url": f"/products/{beat.pk}",
        "genre": None,
        "mood": None,
        "bpm": None,
        "key": None,
        "duration_seconds": None,
        "cover_url": None,
        "preview_url": None,
        "waveform": [],
        "stock_left": None,
        "weight_grams": None,
        "sold_out": False,
    }
    assert vinyl_item["id"] == vinyl.pk
    assert vinyl_item["kind"] == "physical"
    assert vinyl_item["ships"] is True
    assert vinyl_item["price"] == {"amount": 2800, "currency": "eur"}
    assert vinyl_item["licenses"] == []
    assert (vinyl_item["stock_left"], vinyl_item["weight_grams"], vinyl_item["sold_out"]) == (50, 300, False)


def test_product_detail_and_404(client):
    beat = BeatFactory()
    hidden = BeatFactory(published=False)

    response = client.get(f"/api/products/{beat.pk}")

    assert response.status_code == 200
    assert [license["tier"] for license in response.json()["licenses"]] == ["basic", "premium", "exclusive"]
    assert_problem(client.get(f"/api/products/{hidden.pk}"), status=404, code="not_found")
    assert_problem(client.get("/api/products/987654"), status=404, code="not_found")


# --- query counts and the schema -------------------------------------------------------------------


def test_lists_take_the_same_number_of_queries_however_many_rows(client, django_assert_max_num_queries):
    def queries_for(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    CourseFactory()
    BeatFactory()
    ServiceFactory(resources=[ResourceFactory()])
    small = {path: queries_for(path) for path in ("/api/courses", "/api/services", "/api/products")}

    CourseFactory.create_batch(15)
    for _ in range(10):
        BeatFactory()
        ServiceFactory(resources=[ResourceFactory(), ResourceFactory()])
    PhysicalProductFactory.create_batch(3)

    for path, count in small.items():
        with django_assert_max_num_queries(count):
            client.get(path)
    course, beat = CourseFactory(), BeatFactory()
    with django_assert_max_num_queries(small["/api/courses"]):
        client.get(f"/api/courses/{course.pk}")
    with django_assert_max_num_queries(small["/api/products"]):
        client.get(f"/api/products/{beat.pk}")


def test_slots_take_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    day = business_today() + dt.timedelta(days=10)
    resources = [ResourceFactory() for _ in range(4)]
    for resource in resources:
        for start in (8, 13):
            OpeningHoursFactory(
                resource=resource, weekday=day.weekday(), opens_at=dt.time(start), closes_at=dt.time(start + 4)
            )
    service = ServiceFactory(duration_minutes=30, resources=resources)
    # the service, its resources, their opening hours (plus slack for request machinery)
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/services/{service.pk}/slots?date={day.isoformat()}")
    assert len(response.json()["slots"]) == 16
    assert all(len(slot["resource_ids"]) == 4 for slot in response.json()["slots"])


def test_list_endpoints_stay_within_three_queries_plus_request_overhead(client, django_assert_max_num_queries):
    CourseFactory.create_batch(5)
    for _ in range(5):
        BeatFactory()
        ServiceFactory(resources=[ResourceFactory(), ResourceFactory()])
    # count + page (+ one prefetch); a few more allowed for the request machinery (session, rate limit).
    for path in ("/api/courses", "/api/services", "/api/products"):
        with django_assert_max_num_queries(8):
            assert client.get(path).status_code == 200


def test_openapi_documents_the_catalog_responses(client):
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/courses",
        "/api/courses/{course_id}",
        "/api/services",
        "/api/services/{service_id}/slots",
        "/api/products",
        "/api/products/{product_id}",
    ):
        assert "200" in paths[path]["get"]["responses"], path
    course_page = schema["components"]["schemas"]["CoursePage"]
    assert set(course_page["properties"]) == {"items", "page", "pages", "total"}
    parameters = {parameter["name"] for parameter in paths["/api/courses"]["get"]["parameters"]}
    assert {"page", "page_size", "upcoming", "q"} <= parameters


def test_each_product_of_the_list_is_what_its_detail_answers(client, demo_media):
    """The list reads its products with `product_list`'s annotations (stock left, exclusive sold), the detail
    with `product_get`'s: the two agree field for field on the whole demo catalog."""
    from django.core.management import call_command

    call_command("seed", verbosity=0)
    listed = client.get("/api/products?page_size=100").json()["items"]

    assert len(listed) >= 13  # the seed's beats and its record
    for item in listed:
        assert item == client.get(f"/api/products/{item['id']}").json()
