"""Two residents walk through one node's real pages in headless Chromium.

alice joins through the registration form, is refused a listing with no title and -1 of it,
posts an offer with a photo, and bob joins, finds it by a word of its title and answers it;
then alice sees his answer. Every step asserts on what the page shows, and the refused form on
what the database holds. Screenshots of the main pages go to tests/browser/screenshots/.

The browser is Debian's chromium (apt-get install chromium); Playwright drives it and never
downloads one of its own.
"""

from __future__ import annotations

import re
from pathlib import Path

from commonsfed.services.photos import media_dir
from commonsfed.web.keys import POOL
from tests.browser.chromium import BROWSER_MARKS, expect, new_page, register, snap
from tests.browser.live import LiveNode
from tests.builders import photo_bytes

pytestmark = BROWSER_MARKS

TITLE = "Spare sourdough starter"
PLACE = "Corner of Elm Street and Oak Lane"
ALT = "A glass jar of bubbly sourdough starter on a windowsill"
ANSWER = "I would love some! Could I pick it up on Saturday morning?"
LISTING_URL = re.compile(r"/listings/[A-Za-z0-9_-]{8,32}$")
CONVERSATION_URL = re.compile(r"/conversations/[0-9]+$")


async def count_rows(node: LiveNode, table: str) -> int:
    async with node.app[POOL].acquire() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")


# --- the steps -----------------------------------------------------------------------------


async def open_give_form(page, node: LiveNode) -> None:
    await (
        page.get_by_role("navigation", name="Account")
        .get_by_role("link", name="New listing")
        .click()
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("New listing")
    await page.get_by_role("radio", name="Offer: I have something for neighbours").check()
    await page.get_by_role("radio", name=re.compile(r"^Give away ")).check()
    await page.get_by_role("button", name="Continue").click()
    await expect(page).to_have_url(node.url("/listings/new?purpose=offer&kind=give"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("New offer: give away")


async def fill_listing(page, title: str, quantity: str, photo: Path) -> None:
    await page.get_by_label("Title", exact=True).fill(title)
    await page.get_by_label("Description", exact=True).fill(
        "A **lively** starter, fed this morning. Bring a clean jar."
    )
    await page.get_by_label("Category").select_option("food")
    await page.get_by_label("How many").fill(quantity)
    await page.get_by_label("Place", exact=True).fill(PLACE)
    await page.get_by_label("Photo 1", exact=True).set_input_files(str(photo))
    await page.get_by_label("Description of photo 1").fill(ALT)


async def submit_refused_listing(page, node: LiveNode, photo: Path) -> None:
    """No title and a quantity of -1: the form comes back with a message at each field."""
    await fill_listing(page, "", "-1", photo)
    await page.get_by_role("button", name="Publish").click()
    await expect(page).to_have_url(node.url("/listings/new"))  # the form again, not a listing
    await expect(page.get_by_role("alert")).to_contain_text(
        "Please correct the fields marked below"
    )
    title = page.get_by_label("Title", exact=True)
    await expect(title).to_have_attribute("aria-invalid", "true")
    await expect(title).to_have_accessible_description("Give your listing a title.")
    await expect(page.locator("#e-title")).to_be_visible()
    quantity = page.get_by_label("How many")
    await expect(quantity).to_have_accessible_description("Enter a whole number of 1 or more.")
    await expect(quantity).to_have_value("-1")
    await expect(page.get_by_label("Place", exact=True)).to_have_value(PLACE)  # kept
    await snap(page, "3-new-listing-refused")
    assert await count_rows(node, "listings") == 0
    assert await count_rows(node, "listing_photos") == 0
    assert not any(media_dir(node.settings).glob("*"))


async def publish_listing(page, node: LiveNode, photo: Path) -> str:
    # browsers do not keep a chosen file when a form comes back, so it is chosen again
    await fill_listing(page, TITLE, "2", photo)
    await page.get_by_role("button", name="Publish").click()
    await expect(page).to_have_url(LISTING_URL)
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    await expect_photo_loaded(page.locator('.gallery [data-gallery="main"]'))
    await expect(page.locator("#answers")).to_contain_text("No answers yet.")
    assert await count_rows(node, "listings") == 1
    assert await count_rows(node, "listing_photos") == 1
    return page.url


async def expect_photo_loaded(image) -> None:
    await expect(image).to_have_count(1)
    await expect(image).to_have_attribute("alt", ALT)
    await expect(image).to_have_attribute("src", re.compile(r"^/media/[A-Za-z0-9_-]+\.\w+$"))
    await image.scroll_into_view_if_needed()  # loading="lazy"
    await image.evaluate("img => img.decode()")  # rejects when the bytes are not an image
    assert await image.evaluate("img => img.naturalWidth") > 0


async def search(page, words: str) -> None:
    await page.get_by_label("Words").fill(words)
    await page.get_by_role("button", name="Find").click()
    await expect(page).to_have_url(re.compile(rf"/explore\?q={words}&"))


async def find_on_explore(page, node: LiveNode, listing_url: str) -> None:
    await page.goto(node.url("/explore"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Offers and requests")
    await search(page, "drill")  # the search filters: a word of no listing finds nothing
    await expect(page.locator(".notice")).to_contain_text("Nothing open matches these filters")
    await search(page, "sourdough")
    card = page.locator(".listing-cards .listing-card")
    await expect(card).to_have_count(1)
    await expect(card.locator("img.thumb")).to_have_attribute("alt", ALT)
    await snap(page, "5-explore")
    await card.get_by_role("link", name=TITLE).click()
    await expect(page).to_have_url(listing_url)
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    await expect_photo_loaded(page.locator('.gallery [data-gallery="main"]'))
    await expect(page.locator(".facts")).to_contain_text(PLACE)


async def answer_listing(page) -> None:
    await page.get_by_label("Answer privately").fill(ANSWER)
    await page.get_by_role("button", name="Send privately").click()
    await expect(page).to_have_url(CONVERSATION_URL)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your answer to @alice")
    await expect(page.locator(".messages .message .body")).to_have_text([ANSWER])
    await expect(page.locator(".status-line")).to_contain_text("Number 1 in line.")
    await snap(page, "6-conversation-respondent")


async def see_answer_as_author(page, listing_url: str) -> None:
    await page.goto(listing_url)
    await expect(page.locator("#answers .answer .person")).to_have_text(["@bob"])
    await expect(page.locator("#answers .answer")).to_contain_text("1 message")
    await page.get_by_role("link", name="Notifications (1)").click()
    note = page.locator(".notifications .notification.unread")
    await expect(note).to_contain_text(f"@bob answered “{TITLE}”.")
    await note.get_by_role("link").click()
    await expect(page).to_have_url(CONVERSATION_URL)
    await expect(page.get_by_role("heading", level=1)).to_have_text("@bob’s answer")
    await expect(page.locator(".messages .message .body")).to_have_text([ANSWER])
    await snap(page, "7-conversation-author")


# --- the walk ------------------------------------------------------------------------------


async def test_resident_walkthrough__offer_with_photo_found_and_answered(
    browser, live_node, tmp_path
):
    # Given a photo of what alice gives away, and alice joined through the registration form
    photo = tmp_path / "starter.png"
    photo.write_bytes(photo_bytes("PNG", size=(640, 480), color="orange"))
    alice = await new_page(browser)
    await register(alice, live_node, "alice", screenshot=True)

    # When she sends the listing form without a title, then fills it in properly
    await open_give_form(alice, live_node)
    await snap(alice, "2-new-listing")
    await submit_refused_listing(alice, live_node, photo)
    listing_url = await publish_listing(alice, live_node, photo)
    await snap(alice, "4-listing")

    # Then bob, a new neighbour, finds it by a word of its title and answers it
    bob = await new_page(browser)
    await register(bob, live_node, "bob")
    await find_on_explore(bob, live_node, listing_url)
    await answer_listing(bob)

    # And alice sees his answer on her listing, in her notifications and in the conversation
    await see_answer_as_author(alice, listing_url)
