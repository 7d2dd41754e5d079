"""The listing page in headless Chromium: the photo gallery with JavaScript off and on, and
the author's view.

alice offers soup with three photos (posted through the services: the posting form has its
own walkthrough). bob, whose browser runs no JavaScript, opens it, switches photos with the
thumbnails (links to ?photo=N) and answers. alice then sees bob's answer first and one set
of actions, and her browser (with JavaScript) switches photos without loading the page.
Screenshots go to tests/browser/screenshots/.
"""

from __future__ import annotations

from commonsfed.db import accounts as accounts_q
from commonsfed.services import listings
from commonsfed.services.photos import Upload
from commonsfed.web.keys import POOL
from tests.browser.chromium import BROWSER_MARKS, WAIT_MS, expect, new_page, register, snap
from tests.browser.live import LiveNode
from tests.builders import photo_bytes

pytestmark = BROWSER_MARKS

SOUP = {"purpose": "offer", "kind": "give", "title": "Pumpkin soup", "category": "food",
        "description": "Three litres, made this morning.", "place": "Elm Street",
        "alt_1": "A pot of orange soup", "alt_2": "The soup in a blue bowl",
        "alt_3": "The handwritten recipe"}  # fmt: skip


async def alices_soup(node: LiveNode) -> str:
    pool = node.app[POOL]
    async with pool.acquire() as conn:
        alice = await accounts_q.get_by_username(conn, "alice")
    photos = [
        Upload(f"photo_{n}", f"soup{n}.jpg", photo_bytes("JPEG", size, color=color))
        for n, size, color in ((1, (900, 600), "orange"), (2, (600, 800), "blue"),
                               (3, (700, 500), "white"))
    ]  # fmt: skip
    soup = await listings.create_listing(pool, node.settings, alice, SOUP, photos)
    return soup.uid


async def page_without_javascript(browser):
    context = await browser.new_context(
        viewport={"width": 1100, "height": 900}, java_script_enabled=False
    )
    context.set_default_timeout(WAIT_MS)
    return await context.new_page()


async def test_listing_page__gallery_without_javascript_and_the_authors_view(browser, live_node):
    alices, bobs = await new_page(browser), await page_without_javascript(browser)
    await register(alices, live_node, "alice")
    await register(bobs, live_node, "bob")
    uid = await alices_soup(live_node)

    # bob, without JavaScript, sees the first photo large, at its natural size
    await bobs.goto(live_node.url(f"/listings/{uid}"))
    main = bobs.locator('[data-gallery="main"]')
    await expect(main).to_have_attribute("alt", "A pot of orange soup")
    assert (await main.evaluate("img => img.naturalWidth")) == 900
    await snap(bobs, "listing-page-1-gallery")

    # the second thumbnail (a link) shows the second photo large
    await bobs.get_by_role("link", name="The soup in a blue bowl").click()
    await expect(main).to_have_attribute("alt", "The soup in a blue bowl")
    assert "?photo=2" in bobs.url
    await expect(bobs.get_by_text("Photo 2 of 3")).to_be_visible()
    await snap(bobs, "listing-page-2-second-photo-no-javascript")

    # and he answers, still without JavaScript
    await bobs.get_by_label("Answer privately").fill("Could I have a litre tonight?")
    await bobs.get_by_role("button", name="Send privately").click()
    await expect(bobs.get_by_role("heading", level=1)).to_have_text("Your answer to @alice")

    # alice sees bob's answer before anything else, and each action once
    await alices.goto(live_node.url(f"/listings/{uid}"))
    headings = await alices.get_by_role("heading", level=2).all_inner_texts()
    assert headings[:2] == ["Answers", "Manage this listing"], headings
    await expect(alices.get_by_role("link", name="@bob")).to_be_visible()
    await expect(alices.get_by_role("button", name="Mark completed: @bob")).to_have_count(1)
    await expect(alices.get_by_role("button", name="Mark completed", exact=True)).to_have_count(0)
    await expect(alices.get_by_role("button", name="Mark reserved")).to_have_count(0)
    await snap(alices, "listing-page-3-authors-view")

    # with JavaScript, a thumbnail swaps the photo in place (no page load) and the address
    await alices.evaluate("window.notReloaded = true")
    await alices.get_by_role("link", name="The handwritten recipe").click()
    await expect(alices.locator('[data-gallery="main"]')).to_have_attribute(
        "alt", "The handwritten recipe"
    )
    assert await alices.evaluate("window.notReloaded === true")
    assert alices.url.endswith("?photo=3#gallery")
    await snap(alices, "listing-page-4-third-photo-javascript")
