"""Debian's Chromium for the browser tests: where it is, how it starts, where screenshots go, and what
every browser test does the same way (open a page that records its console errors, sign in through the
form, pay on the sandbox's hosted page).

A browser test module marks itself `pytestmark = [pytest.mark.e2e, requires_chromium]` and takes the
`browser` fixture (one Chromium per module) or the `page` fixture (a fresh context per test), which the
root conftest registers from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from factories import DEFAULT_PASSWORD, verified_customer

# Playwright's sync API runs an event loop in the test's thread; Django's ORM refuses that without this.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("TEST_OUTPUT_DIR", "test-output")) / "screenshots"

requires_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh context (1280×900); `page.problems` lists the console errors and page errors."""
    opened = new_page(browser, viewport={"width": 1280, "height": 900})
    yield opened
    opened.context.close()


def new_page(browser: Any, *, console: tuple[str, ...] = ("error",), **context_options: Any) -> Any:
    """A page in a new context of its own (close it with `page.context.close()`), with a 20 s default timeout.

    `page.problems` collects the console messages of the `console` types and uncaught page errors.
    """
    context = browser.new_context(**context_options)
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    problems: list[str] = []
    opened.on("console", lambda message: problems.append(message.text) if message.type in console else None)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.problems = problems
    return opened


def screenshotter(prefix: str) -> Callable[[Any, str], None]:
    """`screenshot(page, name)`: the whole page saved as test-output/screenshots/<prefix>-<name>.png."""

    def screenshot(page: Any, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{prefix}-{name}.png"), full_page=True)

    return screenshot


def fill_sign_in(page: Any, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """On the sign-in page: fill the form and submit it."""
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click(".auth-panel form button[type=submit]")


def sign_in(page: Any, base_url: str, email: str, *, next_url: str | None = None) -> None:
    """Sign in through the real form (a verified customer with this email is made if needed)."""
    verified_customer(email)
    page.goto(f"{base_url}/accounts/login/" + (f"?next={next_url}" if next_url else ""))
    fill_sign_in(page, email)
    page.wait_for_load_state()


def pay_by_card(page: Any, number: str = "4242 4242 4242 4242") -> None:
    """On the sandbox's hosted page: fill the card form and pay."""
    page.fill("#card-number", number)
    page.fill("#card-expiry", "12/34")
    page.fill("#card-cvc", "123")
    page.fill("#card-name", "Ada Lovelace")
    page.click("#pay-button")
