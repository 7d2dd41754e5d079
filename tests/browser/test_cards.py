"""Listing cards in headless Chromium, at a phone's width (390 px) and a desktop's (1280 px).

The node holds three listings, one with a photo 1200 pixels wide. On /explore the card shows
its thumbnail from one of the renditions the node made (the browser picks it from `srcset`
and `sizes`: the 640-pixel one for a phone's full-width tile, the 320-pixel one for a
desktop's column), its kind as a word beside its icon, the neighbourhood and the state; the
page counts its listings, and the sort (a plain GET form) reorders them. A category's page
lists that category only. Nothing scrolls sideways at either width. Screenshots go to
tests/browser/screenshots/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commonsfed.services import accounts, listings
from commonsfed.services.photos import Upload
from commonsfed.web.keys import POOL
from tests.browser.chromium import BROWSER_MARKS, WAIT_MS, expect, snap
from tests.browser.live import LiveNode
from tests.builders import photo_bytes

pytestmark = BROWSER_MARKS

WIDTHS = {"phone": (390, "-640w."), "desktop": (1280, "-320w.")}


def day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


async def three_listings(node: LiveNode) -> None:
    pool, settings = node.app[POOL], node.settings
    alice = await accounts.register(pool, settings, username="alice", email="alice@e.org",
                                    password="correct horse battery", by_admin=True)  # fmt: skip
    common = {"purpose": "offer", "place": "Elm Street"}
    await listings.create_listing(pool, settings, alice, {
        **common, "kind": "give", "title": "A crate of pears", "category": "food",
        "alt_1": "A wooden crate full of green pears", "expires_on": day(12),
    }, [Upload("photo_1", "pears.jpg", photo_bytes(size=(1200, 900), color="olive"))])  # fmt: skip
    await listings.create_listing(pool, settings, alice, {
        **common, "kind": "lend", "title": "Cordless drill", "category": "tools",
        "loan_days": "7", "expires_on": day(2),
    }, [])  # fmt: skip
    await listings.create_listing(pool, settings, alice, {
        **common, "kind": "service", "title": "An hour of bike repairs", "category": "tools", "hours": "1",
        "no_expiry": "1",
    }, [])  # fmt: skip


async def check_width(browser, node: LiveNode, name: str) -> None:
    width, rendition = WIDTHS[name]
    context = await browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    try:
        await page.goto(node.url("/explore"))
        await expect(page.locator(".result-count")).to_have_text("3 listings")
        card = page.locator("li.listing-card", has_text="A crate of pears")
        thumb = card.get_by_role("img", name="A wooden crate full of green pears")
        await thumb.scroll_into_view_if_needed()
        await expect(thumb).to_have_js_property("complete", True)
        src = await thumb.evaluate("img => img.currentSrc")
        assert rendition in src and src.startswith(node.url("/media/")), src
        await expect(card.locator(".kind-badge")).to_have_text("Give away")
        await expect(card.locator(".card-neighbourhood")).to_have_text(node.settings.instance_name)
        await expect(card.locator(".tag.state")).to_have_text("Open")
        await snap(page, f"cards-explore-{name}")
        assert await page.evaluate("document.documentElement.scrollWidth") <= width

        # the sort is a plain form: ending soon puts the drill (two days) first
        await page.get_by_label("Sort").select_option("ending")
        await page.locator("form.sort-form").get_by_role("button", name="Sort").click()
        await expect(page).to_have_url(node.url("/explore?sort=ending"))
        await expect(page.locator("li.listing-card h2").first).to_have_text("Cordless drill")

        # a card's category leads to the category's own page
        await (
            page.locator("li.listing-card", has_text="Cordless drill")
            .get_by_role("link", name="Tools")
            .click()
        )
        await expect(page).to_have_url(node.url("/categories/tools"))
        await expect(page.get_by_role("heading", level=1)).to_have_text("Tools")
        await expect(page.locator(".result-count")).to_have_text("2 listings")
        await snap(page, f"cards-category-{name}")
        assert await page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        await context.close()


async def test_cards__thumbnail_kind_count_sort_and_category_at_two_widths(browser, live_node):
    await three_listings(live_node)

    for name in WIDTHS:
        await check_width(browser, live_node, name)
