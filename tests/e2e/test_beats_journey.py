"""The beat store in Chromium: find a beat by BPM, play it and seek on its waveform (the audio really moves),
look at the tiers, buy the premium lease through the sandbox, download the WAV, the stems and the licence.
Screenshots of the player and the tiers at 1280 and 390 px: test-output/screenshots/beats-*.png.
"""

from __future__ import annotations

import re
import time
import zipfile
from io import BytesIO
from typing import Any

import pytest

from bookdesk.catalog.models import Product
from bookdesk.orders.models import Grant
from chromium import new_page, pay_by_card, screenshotter, sign_in

from .conftest import Shop
from .test_journeys import confirmed, demo_catalog, derive, order_of_page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

screenshot = screenshotter("beats")


def audio_time(page: Any) -> float:
    return float(page.evaluate("document.querySelector('[data-player-audio]').currentTime"))


def wait_for_time(page: Any, check: Any, what: str, timeout: float = 15.0) -> float:
    """Poll the player's audio.currentTime until `check(t)` (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = audio_time(page)
        if check(now):
            return now
        page.wait_for_timeout(100)
    raise AssertionError(f"audio.currentTime never {what}; it is {audio_time(page)}")


def test_find_by_bpm_play_seek_buy_the_premium_lease_and_download_what_it_promises(
    page: Any, shop: Shop, browser: Any
) -> None:
    beat = derive(Product.objects.get(slug="midnight-drive"))  # 92 BPM

    page.goto(f"{shop.url}/")
    page.fill("input[name=bpm_min]", "90")
    page.fill("input[name=bpm_max]", "95")
    page.get_by_role("button", name="Find beats").click()
    page.wait_for_url(re.compile(r"bpm_min=90"))
    cards = page.locator(".beat-card")
    assert cards.count() == 1
    assert "Midnight Drive" in cards.first.inner_text()

    play = page.get_by_role("button", name="Play the preview of Midnight Drive")
    play.click()
    wait_for_time(page, lambda t: t > 0.3, "moved: the preview does not play")
    assert (
        page.get_by_role("button", name="Pause the preview of Midnight Drive").get_attribute("aria-pressed") == "true"
    )
    wave = page.get_by_role("slider", name="Seek in the preview of Midnight Drive")
    box = wave.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    assert 13 < wait_for_time(page, lambda t: t > 13, "jumped on the click") < 20
    wave.focus()
    before = audio_time(page)
    page.keyboard.press("ArrowLeft")
    wait_for_time(page, lambda t: t < before - 3, "went back on ArrowLeft")
    assert re.match(r"\d+:\d\d of 0:20", wave.get_attribute("aria-valuetext") or "")
    screenshot(page, "player-1280")
    assert page.problems == []

    page.goto(f"{shop.url}/products/{beat.pk}")
    tiers = page.locator(".tier")
    assert tiers.count() == 3
    premium = tiers.filter(has_text="Premium lease")
    assert "WAV (untagged master)" in premium.inner_text()
    assert "Track stems (ZIP)" in premium.inner_text()
    assert "No WAV" in tiers.filter(has_text="Basic lease").inner_text()
    screenshot(page, "tiers-1280")
    phone = new_page(browser, viewport={"width": 390, "height": 844})
    phone.goto(f"{shop.url}/products/{beat.pk}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_role("button", name="Play the preview of Midnight Drive").click()
    wait_for_time(phone, lambda t: t > 0.3, "moved on the phone")
    screenshot(phone, "tiers-390")
    phone.goto(f"{shop.url}/?bpm_min=90&bpm_max=95")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "player-390")
    phone.context.close()

    sign_in(page, shop.url, "ada@example.com")
    page.goto(f"{shop.url}/products/{beat.pk}")
    page.get_by_role("button", name="Add the Premium lease of Midnight Drive to the cart").click()
    page.wait_for_selector(".message-success")
    page.goto(f"{shop.url}/checkout")
    page.click("#pay-button")
    page.wait_for_url(f"{shop.sandbox.base_url}/c/pay/**")
    pay_by_card(page)
    page.wait_for_url(f"{shop.url}/payment/success?session_id=*")
    order = confirmed(shop, order_of_page(page))

    page.goto(f"{shop.url}/orders/{order.code}")
    links = {
        link.get_attribute("data-kind"): link.get_attribute("href")
        for link in page.locator("a[data-action=download]").all()
    }
    assert set(links) == {"mp3", "wav", "stems", "license"}
    screenshot(page, "order-downloads")
    wav = page.request.get(links["wav"])
    assert wav.status == 200
    assert wav.body() == beat.master.open("rb").read()
    stems = page.request.get(links["stems"])
    assert stems.status == 200
    assert zipfile.is_zipfile(BytesIO(stems.body()))
    licence = page.request.get(links["license"])
    assert licence.status == 200
    assert licence.body()[:4] == b"%PDF"
    assert Grant.objects.get(line__order=order).download_count == 2  # the agreement is not the beat
