"""Matches and alerts in headless Chromium: a resident asks for a drill and sees the offer
that matches on their listing's page; another saves a search from /explore, finds it in
their settings, is told of a new listing that fits it, and deletes the search. The new
pages are checked by axe-core (WCAG 2.2 AA). Screenshots go to tests/browser/screenshots/.
"""

from __future__ import annotations

from commonsfed.db import accounts as accounts_q
from commonsfed.services import listings
from commonsfed.web.keys import POOL
from tests.browser.axe import describe, violations
from tests.browser.chromium import BROWSER_MARKS, expect, new_page, register, snap
from tests.browser.live import LiveNode

pytestmark = BROWSER_MARKS

DRILL = {"purpose": "offer", "kind": "give", "title": "Cordless drill", "category": "tools",
         "place": "Elm Street"}  # fmt: skip


async def post_as(node: LiveNode, username: str, **fields):
    pool = node.app[POOL]
    async with pool.acquire() as conn:
        author = await accounts_q.get_by_username(conn, username)
    return await listings.create_listing(pool, node.settings, author, {**DRILL, **fields}, [])


async def no_violations(page, where: str) -> None:
    found = await violations(page)
    assert not found, describe(where, found)


async def test_matching__matches_shown_and_a_saved_search_told(browser, live_node):
    alices, bobs = await new_page(browser), await new_page(browser)
    await register(alices, live_node, "alice")
    await register(bobs, live_node, "bob")
    await post_as(live_node, "alice")

    # bob asks for a drill: his listing's page shows alice's offer
    asked = await post_as(live_node, "bob", purpose="request", title="Drill for a shelf")
    await bobs.goto(live_node.url(f"/listings/{asked.uid}"))
    matches = bobs.locator("section.matches")
    await expect(matches.get_by_role("heading")).to_have_text("Offers that match your request")
    await expect(matches.get_by_role("link", name="Cordless drill")).to_be_visible()
    await no_violations(bobs, "listing with matches")
    await snap(bobs, "matching-1-listing")

    # alice searches /explore for ladders and saves the search
    await alices.goto(live_node.url("/explore?q=ladder&purpose=offer"))
    await alices.get_by_role("button", name="Save this search").click()
    await expect(alices.get_by_role("status")).to_contain_text("Search saved.")
    await expect(alices.locator("ul.searches li")).to_contain_text("“ladder”")
    await no_violations(alices, "saved searches")
    await snap(alices, "matching-2-saved")

    # bob offers a ladder: alice is told, and may delete her search
    await post_as(live_node, "bob", title="Aluminium ladder")
    await alices.goto(live_node.url("/notifications"))
    told = alices.locator("a.match")
    await expect(told.first).to_have_text(
        "“Aluminium ladder” is new and matches one of your saved searches."
    )
    # (and, before it, of bob's request, which matched her drill)
    await expect(told.nth(1)).to_have_text(
        "“Drill for a shelf” is new and matches one of your listings."
    )
    await alices.goto(live_node.url("/settings/searches"))
    await alices.get_by_role("button", name="Delete").click()
    await expect(alices.get_by_role("status")).to_contain_text("Saved search deleted.")
    await expect(alices.locator("ul.searches")).to_have_count(0)
