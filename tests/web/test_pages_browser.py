"""The catalog in real Chromium: it renders, the CSP blocks nothing of ours, and it fits a phone."""

from __future__ import annotations

import datetime as dt

import pytest

from bookdesk.catalog.models import Genre
from bookdesk.catalog.selectors import business_today
from bookdesk.web.views import PAGE_ITEMS
from chromium import new_page, requires_chromium, screenshotter
from factories import BeatFactory

pytestmark = [
    pytest.mark.e2e,
    requires_chromium,
]


screenshot = screenshotter("web")


def _open(browser, url: str, *, width: int = 1280, height: int = 900):  # type: ignore[no-untyped-def]
    page = new_page(browser, console=("error", "warning"), viewport={"width": width, "height": height})
    response = page.goto(url, wait_until="load")
    assert response is not None
    return page.context, page, response, page.problems


def _assert_styled(page) -> None:  # type: ignore[no-untyped-def]
    # The stylesheet loaded and applied: the header is a flex row on a white surface.
    assert page.evaluate("getComputedStyle(document.querySelector('.header-inner')).display") == "flex"
    assert page.evaluate("document.styleSheets.length") >= 1


def test_home_and_service_pages_render_without_csp_violations(live_server, catalog, browser) -> None:
    context, page, response, problems = _open(browser, live_server.url + "/")
    assert response.status == 200
    assert "Content-Security-Policy" in {name.title() for name in response.headers} or response.headers.get(
        "content-security-policy"
    )
    _assert_styled(page)
    assert page.locator(".card").count() >= 4
    assert page.get_by_text("Few seats left").is_visible()
    screenshot(page, "home")
    # Search works without JavaScript: a plain GET form.
    page.fill("input[name=q]", "mixing")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/?q=mixing")
    assert page.get_by_role("heading", name="Mixing basics").is_visible()
    assert not problems, problems
    context.close()

    day = business_today() + dt.timedelta(days=7)
    context, page, response, problems = _open(browser, f"{live_server.url}/services/{catalog.service.pk}")
    assert response.status == 200
    _assert_styled(page)
    page.fill("input[name=date]", day.isoformat())
    page.click("form.date-form button[type=submit]")
    page.wait_for_url(f"**/services/{catalog.service.pk}?date={day.isoformat()}")
    assert page.locator(".slot").count() == 4
    assert page.locator(".slot time").first.inner_text() == "10:00"
    screenshot(page, "service")
    assert not problems, problems
    context.close()

    context, page, response, problems = _open(browser, live_server.url + "/", width=375, height=812)
    _assert_styled(page)
    # Nothing overflows sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "home-mobile")
    assert not problems, problems
    context.close()


def test_sign_in_page_and_api_docs_render_under_the_csp(live_server, browser) -> None:
    context, page, response, problems = _open(browser, live_server.url + "/accounts/login/")
    assert response.status == 200
    _assert_styled(page)
    screenshot(page, "login")
    assert not problems, problems
    context.close()

    context, page, response, problems = _open(browser, live_server.url + "/api/docs")
    assert response.status == 200
    page.wait_for_selector(".swagger-ui .info", timeout=10_000)
    assert not [problem for problem in problems if "Content Security Policy" in problem], problems
    context.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_a_catalog_section_pages_through_its_beats_under_the_csp(live_server, browser, width, height) -> None:
    for n in range(PAGE_ITEMS + 2):
        BeatFactory(title=f"Beat {n:03d}", genre=Genre.TRAP, bpm=90 + n)
    context, page, response, problems = _open(
        browser, f"{live_server.url}/beats?genre=trap&sort=bpm", width=width, height=height
    )
    assert response.status == 200
    _assert_styled(page)
    assert page.locator(".beat-grid .card").count() == PAGE_ITEMS
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing runs off the screen
    screenshot(page, f"beats-page-1-{width}")
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url("**/beats?genre=trap&sort=bpm&page=2")
    assert page.locator(".beat-grid .card").count() == 2
    assert page.locator("select[name=genre]").input_value() == "trap"  # the filters kept
    screenshot(page, f"beats-page-2-{width}")
    assert not problems, problems
    context.close()
