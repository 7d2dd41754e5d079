"""Every step of sharing with JavaScript turned off, in headless Chromium: the pages are
plain HTML forms and links, and scripts only add to them.

alice joins through the registration form, chooses the kind of listing, posts an offer with a
photo at one of the neighbourhood's named places (the place list is filled in by the server,
not by the map script), and sees her listing with its photo and the place's name. bob joins,
finds it with /explore's search, answers it; alice sees his answer on her listing, follows her
notification to the conversation, replies, reserves the listing for him and marks it
completed; bob sees all of it in his conversation.
"""

from __future__ import annotations

import re

from commonsfed.services import accounts, places
from commonsfed.web.keys import POOL
from tests.browser.chromium import BROWSER_MARKS, WAIT_MS, expect, register, snap
from tests.browser.live import LiveNode
from tests.builders import DEFAULT_PASSWORD, photo_bytes

pytestmark = BROWSER_MARKS

TITLE = "Box of children's books"
ALT = "A cardboard box full of picture books"
ANSWER = "My daughter would love them. Could I come by on Sunday?"
REPLY = "Sunday at eleven suits me."


async def page_without_javascript(browser):
    context = await browser.new_context(
        java_script_enabled=False, viewport={"width": 1100, "height": 900}
    )
    context.set_default_timeout(WAIT_MS)
    return await context.new_page()


async def the_library(node: LiveNode) -> None:
    pool = node.app[POOL]
    ada = await accounts.register(pool, node.settings, username="ada", role="admin",
                                  email="ada@example.org", password=DEFAULT_PASSWORD,
                                  by_admin=True)  # fmt: skip
    await places.add_place(pool, ada, {"name": "The library", "latitude": "48.85",
                                       "longitude": "2.35"})  # fmt: skip


async def post_listing(page, node: LiveNode, photo) -> str:
    await page.get_by_role("link", name="New listing").first.click()
    await page.get_by_role("radio", name=re.compile(r"^Offer")).check()
    await page.get_by_role("radio", name=re.compile(r"^Give away")).check()
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("New offer: give away")
    # the page names Leaflet and the map script, and neither ran (Playwright's evaluate
    # still can: it goes through the DevTools protocol)
    await expect(page.locator("script[src*='leaflet']")).to_have_count(1)
    assert await page.evaluate("() => typeof L") == "undefined"
    await page.get_by_label("Title", exact=True).fill(TITLE)
    await page.get_by_label("Category").select_option("books")
    await page.get_by_label("A place of the neighbourhood").select_option(label="The library")
    await page.get_by_label("Photo 1", exact=True).set_input_files(str(photo))
    await page.get_by_label("Description of photo 1").fill(ALT)
    await snap(page, "nojs-1-form")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    await expect(page.get_by_role("img", name=ALT)).to_be_visible()
    await expect(page.get_by_text("The library")).to_be_visible()
    await snap(page, "nojs-2-listing")
    return page.url


async def answer_listing(page, node: LiveNode, listing_url: str) -> str:
    await page.goto(node.url("/explore"))
    await page.get_by_label("Words").fill("books")
    await page.get_by_role("button", name="Find").click()
    await page.get_by_role("link", name=TITLE).first.click()
    await expect(page).to_have_url(listing_url)
    await page.get_by_label("Answer privately").fill(ANSWER)
    await page.get_by_role("button", name="Send privately").click()
    await expect(page).to_have_url(re.compile(r"/conversations/[0-9]+$"))
    await expect(page.get_by_text(ANSWER)).to_be_visible()
    return page.url


async def author_answers_back(page, listing_url: str, conversation_url: str) -> None:
    await page.goto(listing_url)
    await expect(page.get_by_role("link", name="@bob")).to_be_visible()
    await page.get_by_role("link", name=re.compile(r"^Notifications")).first.click()
    await page.get_by_role("link", name=re.compile(TITLE)).first.click()
    await expect(page).to_have_url(conversation_url)
    await expect(page.get_by_text(ANSWER)).to_be_visible()
    await page.get_by_role("textbox").fill(REPLY)
    await page.get_by_role("button", name=re.compile(r"^Send")).click()
    await expect(page.get_by_text(REPLY)).to_be_visible()
    await page.get_by_role("button", name=re.compile(r"^Reserve for them")).click()
    await page.get_by_role("button", name=re.compile(r"^Mark completed")).click()
    await snap(page, "nojs-3-conversation-author")


async def test_no_javascript__a_listing_is_posted_answered_and_completed_with_scripts_off(
    browser, live_node, tmp_path
):
    # Given a named place, a photo, and two neighbours whose browsers run no JavaScript
    await the_library(live_node)
    photo = tmp_path / "books.png"
    photo.write_bytes(photo_bytes("PNG", size=(640, 480), color="teal"))
    alice, bob = await page_without_javascript(browser), await page_without_javascript(browser)

    # When alice joins and posts an offer with a photo at the library
    await register(alice, live_node, "alice")
    listing_url = await post_listing(alice, live_node, photo)

    # and bob joins, finds it and answers it
    await register(bob, live_node, "bob")
    conversation_url = await answer_listing(bob, live_node, listing_url)

    # Then alice sees the answer, replies, reserves it for him and completes the exchange
    await author_answers_back(alice, listing_url, conversation_url)

    # And bob sees her reply and the exchange completed
    await bob.goto(conversation_url)
    await expect(bob.get_by_text(REPLY)).to_be_visible()
    await expect(bob.get_by_text("Completed", exact=True).first).to_be_visible()
