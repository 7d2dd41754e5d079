"""A resident thanks another after a completed exchange, in headless Chromium, and sees the
thanks on the other's profile.

alice and bob join; alice offers a ladder and bob answers it (set up through the services:
the answering pages have their own walkthrough); alice reserves it for him and marks it
completed on the conversation page; bob opens the same conversation, writes his thanks,
publishes it, and finds it on alice's profile with his name and the listing's title.
Screenshots go to tests/browser/screenshots/.
"""

from __future__ import annotations

from commonsfed.db import accounts as accounts_q
from commonsfed.services import answers, listings
from commonsfed.web.keys import POOL
from tests.browser.chromium import (
    BROWSER_MARKS,
    expect,
    new_page,
    register,
    snap,
)
from tests.browser.live import LiveNode

pytestmark = BROWSER_MARKS

LADDER = {"purpose": "offer", "kind": "lend", "title": "Aluminium ladder", "category": "tools",
          "description": "Three metres, folds in two.", "place": "Elm Street", "loan_days": "3"}  # fmt: skip
THANKS = "Thank you Alice, the gutters are clean again!"


async def bob_answers_alices_ladder(node: LiveNode) -> int:
    pool = node.app[POOL]
    async with pool.acquire() as conn:
        alice = await accounts_q.get_by_username(conn, "alice")
        bob = await accounts_q.get_by_username(conn, "bob")
    ladder = await listings.create_listing(pool, node.settings, alice, LADDER, [])
    conv = await answers.answer(pool, node.settings, bob, ladder.uid, "May I borrow it?")
    return conv.id


async def test_thanks__a_resident_thanks_after_completing_and_sees_it_on_the_profile(
    browser, live_node
):
    # Given alice's ladder, answered by bob
    alices, bobs = await new_page(browser), await new_page(browser)
    await register(alices, live_node, "alice")
    await register(bobs, live_node, "bob")
    conversation = live_node.url(f"/conversations/{await bob_answers_alices_ladder(live_node)}")

    # When alice reserves it for him and marks the exchange completed
    await alices.goto(conversation)
    await alices.get_by_role("button", name="Reserve for them").click()
    await alices.get_by_role("button", name="Mark completed").click()
    await expect(alices.locator(".status-line .tag.state")).to_have_text("Completed")

    # Then bob may thank her there; an empty thanks is refused with a message
    await bobs.goto(conversation)
    await bobs.get_by_role("button", name="Publish my thanks").click()
    box = bobs.get_by_label("Say thanks to @alice")
    await expect(box).to_have_attribute("aria-invalid", "true")
    await expect(box).to_have_accessible_description("Write a few words of thanks first.")
    await box.fill(THANKS)
    await snap(bobs, "thanks-1-form")
    await bobs.get_by_role("button", name="Publish my thanks").click()
    await expect(bobs.locator("section.thanks .thanks-note.mine .body")).to_have_text(THANKS)

    # And alice's profile shows it, with who wrote it and for which listing
    await bobs.goto(live_node.url("/users/alice"))
    received = bobs.locator("section.profile-thanks li.thanks-note")
    await expect(received).to_have_count(1)
    await expect(received.locator(".body")).to_have_text(THANKS)
    await expect(received.locator(".meta")).to_contain_text("@bob")
    await expect(received.get_by_role("link", name="Aluminium ladder")).to_be_visible()
    await expect(bobs.locator(".member-since")).to_contain_text("Member since")
    await snap(bobs, "thanks-2-profile")
