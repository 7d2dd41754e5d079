"""Fixtures for the browser tests: a real node on a loopback port, and Chromium."""

import pytest

from tests.browser.live import live_node  # noqa: F401  (a real node on a loopback port)


@pytest.fixture
async def browser():
    """Debian's chromium, headless, driven by Playwright (tests/browser/chromium.py)."""
    from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, playwright_api

    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
