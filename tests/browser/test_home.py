"""A new resident's first minutes, in headless Chromium: alice registers and lands on the
welcome page with the node's rules and her first steps; she follows its "Post an offer"
link and publishes one, and the listing's page says so once (a flash in a live region), not
again on reload; her Following page first tells her how to follow people, then shows the
listings of carol, whom she follows from carol's profile, and not dave's. Screenshots go to
tests/browser/screenshots/ (home-*), at a desktop and a phone width.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from commonsfed.config import Settings
from commonsfed.services import accounts, listings
from commonsfed.web.keys import POOL
from tests.browser.chromium import BROWSER_MARKS, expect, new_page, register, snap
from tests.browser.live import LiveNode
from tests.builders import DEFAULT_PASSWORD, LISTING_DEFAULTS

pytestmark = BROWSER_MARKS

RULES = ("Be kind to neighbours.", "Return what you borrow, on time.")
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test node, with rules of its own."""
    return replace(settings, rules=RULES)


async def neighbours_with_listings(node: LiveNode) -> None:
    """carol and dave, each with a listing."""
    pool, node_settings = node.app[POOL], node.settings
    for name, title in (("carol", "Jam of carol"), ("dave", "Bike of dave")):
        person = await accounts.register(
            pool, node_settings, username=name, email=f"{name}@example.org",
            password=DEFAULT_PASSWORD,
        )  # fmt: skip
        await listings.create_listing(
            pool, node_settings, person, {**LISTING_DEFAULTS, "title": title}, []
        )


async def test_home__register_welcome_post_flash_and_following_feed(browser, live_node):
    page = await new_page(browser)

    # When alice registers, she lands on the welcome, greeted once, with the rules
    await register(page, live_node, "alice")
    greeting = page.get_by_role("status").filter(has_text="Your account is ready")
    await expect(greeting).to_have_text("Welcome to Elm Street Commons! Your account is ready.")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Welcome to Elm Street Commons, alice"
    )
    await expect(page.locator("ol.rules li")).to_have_text(list(RULES))
    await expect(page.get_by_role("link", name="Complete your profile")).to_have_attribute(
        "href", "/settings/profile"
    )
    await snap(page, "home-1-welcome")
    await page.set_viewport_size(PHONE)
    await snap(page, "home-1-welcome-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})

    # When she follows "Post an offer" and publishes one
    await page.get_by_role("link", name="Post an offer").click()
    await page.get_by_role("radio", name="Offer: I have something for neighbours").check()
    await page.get_by_role("radio", name=re.compile(r"^Give away ")).check()
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Title", exact=True).fill("A box of apples")
    await page.get_by_label("Category").select_option("food")
    await page.get_by_label("Place", exact=True).fill("Elm Street")
    await page.get_by_role("button", name="Publish").click()

    # Then the listing's page says so, once
    await expect(page).to_have_url(re.compile(r"/listings/[A-Za-z0-9_-]{8,32}$"))
    flash = page.locator(".flash")
    await expect(flash).to_have_text("Your offer is published.")
    await expect(flash).to_have_attribute("role", "status")
    await snap(page, "home-2-published")
    await page.reload()
    await expect(page.get_by_role("heading", level=1)).to_have_text("A box of apples")
    await expect(page.locator(".flash")).to_have_count(0)

    # And her Following page first tells her how to follow people
    await page.get_by_role("navigation", name="Account").get_by_role(
        "link", name="Following").click()  # fmt: skip
    await expect(page).to_have_url(live_node.url("/following"))
    await expect(page.locator("#following-empty")).to_contain_text(
        "Follow neighbours to see their listings here."
    )
    await snap(page, "home-3-following-empty")

    # then, once she follows carol from carol's profile, shows carol's listing as a card,
    # and not dave's
    await neighbours_with_listings(live_node)
    await page.goto(live_node.url("/users/carol"))
    await page.get_by_role("button", name="Follow carol").click()
    await expect(page.locator(".flash")).to_have_text(
        "You follow @carol: their listings show under Following."
    )
    await expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    await snap(page, "home-4-followed")
    await page.get_by_role("navigation", name="Account").get_by_role(
        "link", name="Following").click()  # fmt: skip
    cards = page.locator("#following-feed li.listing-card")
    await expect(cards).to_have_count(1)
    await expect(cards.get_by_role("link", name="Jam of carol")).to_be_visible()
    await expect(page.get_by_text("Bike of dave")).to_have_count(0)
    await page.set_viewport_size(PHONE)
    await snap(page, "home-5-following-phone")
    # and the other tab is whom she follows
    await page.get_by_role("link", name="People and neighbourhoods you follow").click()
    await expect(page).to_have_url(live_node.url("/follows"))
