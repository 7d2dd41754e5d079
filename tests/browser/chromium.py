"""What every browser test uses: Playwright driving Debian's chromium (apt-get install
chromium; Playwright never downloads a browser of its own), the marks that skip a test with
its reason where either is missing, pages of their own per resident, screenshots, and the
registration step most walks start with."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.live import LiveNode
from tests.builders import DEFAULT_PASSWORD

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="Playwright is not installed: pip install -e '.[test]'"
)
expect = playwright_api.expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)",
    ),
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
WAIT_MS = 10_000  # a step that takes this long has failed; a whole walk takes a few seconds


async def new_page(browser):
    """A page in a context of its own: each resident has their own cookies."""
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(WAIT_MS)
    return await context.new_page()


async def snap(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def open_menu(page) -> None:
    """On a narrow screen the account links are behind the Menu button (a <details>, so it
    opens without JavaScript): open it if it is closed. On a wide screen the button is hidden
    and the links show inline: nothing to do."""
    menu = page.locator("header details.menu")
    if await menu.locator("summary").is_visible() and await menu.get_attribute("open") is None:
        await menu.locator("summary").click()


async def account_link(page, name: str):
    """A link of the Account navigation, the menu opened first if the screen is narrow."""
    await open_menu(page)
    return page.get_by_role("navigation", name="Account").get_by_role("link", name=name)


async def register(page, node: LiveNode, username: str, screenshot: bool = False) -> None:
    await page.goto(node.url("/"))
    await (await account_link(page, "Join")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Join {node.settings.instance_name}"
    )
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Email").fill(f"{username}@example.org")
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    if screenshot:
        await snap(page, "1-registration")
    await page.get_by_role("button", name="Create account").click()
    # open registration: the new account is logged in and lands on the welcome page
    await expect(page).to_have_url(node.url("/welcome"))
    await expect(page.locator("header .who")).to_have_text(f"@{username}")
