"""Hours move between two residents for a completed service, in headless Chromium.

alice and bob join; alice offers help in the garden, bob answers (set up through the
services: the answering pages have their own walkthrough); alice reserves, marks it
completed and confirms the hours on the conversation page (a bad number first, refused by
the field); bob sees the hours there and his balance on /settings/hours, and disputes them.
Screenshots go to tests/browser/screenshots/.
"""

from __future__ import annotations

from commonsfed.db import accounts as accounts_q
from commonsfed.services import answers, listings
from commonsfed.web.keys import POOL
from tests.browser.axe import describe, violations
from tests.browser.chromium import BROWSER_MARKS, expect, new_page, register, snap
from tests.browser.live import LiveNode

pytestmark = BROWSER_MARKS

GARDEN = {"purpose": "offer", "kind": "service", "title": "Help in your garden",
          "category": "garden", "description": "Weeding, pruning, planting.",
          "place": "Elm Street", "hours": "2"}  # fmt: skip


async def bob_answers_alices_garden(node: LiveNode) -> int:
    pool = node.app[POOL]
    async with pool.acquire() as conn:
        alice = await accounts_q.get_by_username(conn, "alice")
        bob = await accounts_q.get_by_username(conn, "bob")
    garden = await listings.create_listing(pool, node.settings, alice, GARDEN, [])
    conv = await answers.answer(pool, node.settings, bob, garden.uid, "Saturday morning?")
    return conv.id


async def test_hours__move_between_two_residents_for_a_completed_service(browser, live_node):
    # Given alice's garden help, answered by bob
    alices, bobs = await new_page(browser), await new_page(browser)
    await register(alices, live_node, "alice")
    await register(bobs, live_node, "bob")
    conversation = live_node.url(f"/conversations/{await bob_answers_alices_garden(live_node)}")

    # When alice completes the exchange and confirms the hours (a bad number first)
    await alices.goto(conversation)
    await alices.get_by_role("button", name="Reserve for them").click()
    await alices.get_by_role("button", name="Mark completed").click()
    hours = alices.get_by_label("Hours @bob gives you for your service")
    await expect(hours).to_have_value("2")
    await hours.fill("two")
    await alices.get_by_role("button", name="Confirm the hours").click()
    hours = alices.get_by_label("Hours @bob gives you for your service")
    await expect(hours).to_have_attribute("aria-invalid", "true")
    await expect(hours).to_have_accessible_description(
        "Give a number of hours above 0 and at most 100, such as 1.5."
    )
    found = await violations(alices)
    assert not found, describe("the conversation page with the hours form", found)
    await hours.fill("2.5")
    await snap(alices, "hours-1-confirm")
    await alices.get_by_role("button", name="Confirm the hours").click()
    await expect(alices.locator("section.hours")).to_contain_text(
        "2.5 hours moved from @bob to @alice for this service."
    )

    # Then bob sees them, and his balance and history on his hours page
    await bobs.goto(conversation)
    await expect(bobs.locator("section.hours")).to_contain_text("2.5 hours moved from @bob")
    await bobs.goto(live_node.url("/settings/hours"))
    await expect(bobs.locator(".hours-balance")).to_have_text("Balance: -2.5 hours")
    await expect(bobs.get_by_role("link", name="Help in your garden")).to_be_visible()
    await snap(bobs, "hours-2-balance")
    found = await violations(bobs)
    assert not found, describe("/settings/hours", found)

    # And he may dispute them, with a reason
    await bobs.goto(conversation)
    await bobs.get_by_text("Dispute these hours").click()
    await bobs.get_by_label("What is wrong with these hours?").fill("We said two hours.")
    await bobs.get_by_role("button", name="Dispute the hours").click()
    await expect(bobs.locator("section.hours")).to_contain_text("These hours are disputed")
