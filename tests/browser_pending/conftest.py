"""Same fixtures as tests/browser (these files move there once their APIs are merged)."""

from tests.browser.conftest import browser, page, playwright, web  # noqa: F401
