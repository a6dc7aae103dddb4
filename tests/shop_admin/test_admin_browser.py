"""The admin in real Chromium with a shop's data: no page runs off a 1280 px screen; screenshots of the orders."""

from __future__ import annotations

from typing import Any

import pytest

from chromium import new_page, requires_chromium, screenshotter

from .conftest import Shop, admin_pages, change_url, changelist_url

pytestmark = [pytest.mark.e2e, requires_chromium]

screenshot = screenshotter("admin")
# How far the page, or a table inside its own scrolling box, runs past the screen.
OVERFLOW = """Math.max(
  document.documentElement.scrollWidth - document.documentElement.clientWidth,
  ...Array.from(document.querySelectorAll('#changelist .results, .inline-group .tabular'),
                (box) => box.scrollWidth - box.clientWidth))"""


def sign_in_to_admin(browser: Any, base_url: str, email: str, password: str, *, width: int) -> Any:
    page = new_page(browser, viewport={"width": width, "height": 900})
    page.on("response", lambda r: page.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{base_url}/admin/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")
    return page


def test_no_admin_page_runs_off_a_laptop_screen(live_server: Any, shop: Shop, browser: Any) -> None:
    shop.superuser.set_password("super-pass-1")
    shop.superuser.save()
    page = sign_in_to_admin(browser, live_server.url, shop.superuser.email, "super-pass-1", width=1280)
    urls = ["/admin/"]
    for _label, model in admin_pages():
        urls.append(changelist_url(model))
        if (change := change_url(model)) is not None:
            urls.append(change)
    too_wide = {}
    for url in urls:
        response = page.goto(live_server.url + url)
        assert response is not None
        assert response.status == 200, url
        if (overflow := page.evaluate(OVERFLOW)) > 0:
            too_wide[url] = overflow
            screenshot(page, "too-wide-" + url.strip("/").replace("/", "-"))
    assert not too_wide, str(too_wide)
    assert not page.problems, page.problems
    page.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_operator_reads_orders_in_money_and_local_time(
    live_server: Any, shop: Shop, browser: Any, width: int
) -> None:
    page = sign_in_to_admin(browser, live_server.url, shop.operator.email, "operator-pass-1", width=width)
    page.goto(f"{live_server.url}/admin/orders/order/")
    assert page.get_by_text("Times in Europe/Berlin").is_visible()
    assert page.locator("td.field-total").first.inner_text().startswith(("€", "¥"))
    screenshot(page, f"order-list-{width}")
    order = shop.orders[0]
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    assert page.locator(".field-total .readonly").first.inner_text().startswith("€")
    screenshot(page, f"order-page-{width}")
    if width == 1280:
        assert page.evaluate(OVERFLOW) == 0
    assert not page.problems, page.problems
    page.context.close()
