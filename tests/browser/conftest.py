"""Browser tests: Playwright drives Debian's chromium against the whole local stack.

`make test` installs chromium when it is missing (`make chromium`); these tests never skip.
Screenshots of every page land in $WEB_SCREENSHOTS_DIR (`make screenshots` sets docs/).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from local.local_stack import ROOT, LocalStack
from local.seed import seed_demo
from tests.e2e.conftest import Http

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
VENDOR = ROOT / "chalicelib" / "web" / "vendor" / "chart.umd.min.js"



class WebStack:
    """The local stack with the demo brand, as the browser sees it."""

    def __init__(self, stack: LocalStack, demo: dict[str, Any]) -> None:
        self.stack, self.demo = stack, demo
        self.url = stack.api_url + "/"
        self.http = Http(stack.api_url, demo["keys"]["campaign_manager"])

    @property
    def sms_number(self) -> str:
        return str(self.demo["numbers"]["sms"][0])

    def key(self, role: str) -> str:
        return str(self.demo["keys"][role])


@pytest.fixture(scope="module")
def web() -> Iterator[WebStack]:
    assert VENDOR.is_file(), "the chart library is missing: run `make web`"
    stack = LocalStack(tick_seconds=2.0, release_horizon_seconds=60).start()
    try:
        yield WebStack(stack, seed_demo())
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[BrowserContext]:
    assert os.path.exists(CHROMIUM), (
        f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium (as root)")
    with tempfile.TemporaryDirectory(prefix="proactive-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport=DESKTOP, accept_downloads=True)
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


def watch_errors(tab: Page) -> list[str]:
    """The uncaught script errors of a tab, as they happen (a test fails on any)."""
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text)
           if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    return errors


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A new tab (its own sessionStorage); fails the test on any uncaught script error."""
    tab = browser.new_page()
    errors = watch_errors(tab)
    yield tab
    tab.close()
    assert not errors, f"script errors in the page: {errors}"


def sign_in(page: Page, web: WebStack, role: str = "campaign_manager") -> None:
    page.goto(web.url)
    page.get_by_label("API key").fill(web.key(role))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Campaigns", level=1).wait_for()


def assert_controls_labelled(page: Page) -> None:
    """Every visible form control has an accessible name (a <label>, aria-label or legend)."""
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => el.offsetParent !== null)
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
        .map((el) => el.outerHTML)""")
    assert unlabelled == [], unlabelled


def screenshot(page: Page, name: str) -> None:
    """At 1280 px and 390 px: nothing wider than the window; PNGs into $WEB_SCREENSHOTS_DIR."""
    folder = os.environ.get("WEB_SCREENSHOTS_DIR")
    for size, suffix in ((DESKTOP, "1280"), (PHONE, "390")):
        page.set_viewport_size(size)
        page.wait_for_timeout(150)  # let charts and layout settle
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= size["width"], f"{name} is {overflow}px wide at {size['width']}px"
        if folder:
            path = ROOT / folder / f"web-{name}-{suffix}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(path)), full_page=True)
    page.set_viewport_size(DESKTOP)


def choose(page: Page, selector: str, value: str) -> None:
    """A picker (a <select> once GET /numbers exists) or the free-text fallback."""
    control = page.locator(selector)
    if control.evaluate("el => el.tagName") == "SELECT":
        control.select_option(value)
    else:
        control.fill(value)
