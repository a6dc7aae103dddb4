"""paginate(): the list shape every API list uses."""

from __future__ import annotations

import pytest

from bookdesk.catalog.models import Course
from bookdesk.errors import InvalidInput
from bookdesk.paging import paginate
from factories import CourseFactory


def test_pages_of_a_list():
    page = paginate(list(range(45)), page=2, page_size=20)
    assert (page.items, page.page, page.pages, page.total) == (list(range(20, 40)), 2, 3, 45)
    assert page.has_next
    assert page.has_previous


def test_last_page_is_short_and_beyond_the_end_is_empty():
    assert paginate(list(range(45)), page=3, page_size=20).items == list(range(40, 45))
    beyond = paginate(list(range(45)), page=9, page_size=20)
    assert (beyond.items, beyond.pages, beyond.total) == ([], 3, 45)


def test_empty_list_has_one_empty_page():
    page = paginate([], page=1, page_size=20)
    assert (page.items, page.page, page.pages, page.total) == ([], 1, 1, 0)


@pytest.mark.parametrize(
    ("page", "page_size", "field"), [(0, 20, "page"), (-1, 20, "page"), (1, 0, "page_size"), (1, 101, "page_size")]
)
def test_out_of_range_numbers_name_the_field(page, page_size, field):
    with pytest.raises(InvalidInput) as error:
        paginate([1, 2, 3], page=page, page_size=page_size)
    assert [e["field"] for e in error.value.errors] == [field]


def test_max_page_size_is_adjustable():
    assert len(paginate(list(range(300)), page=1, page_size=250, max_page_size=250).items) == 250


@pytest.mark.django_db
def test_a_queryset_is_counted_and_sliced_in_two_queries(django_assert_num_queries):
    CourseFactory.create_batch(5)
    with django_assert_num_queries(2):
        page = paginate(Course.objects.order_by("id"), page=2, page_size=2)
    assert (len(page.items), page.pages, page.total) == (2, 3, 5)
