"""A report worked through to the end in headless Chromium.

Bob reports alice's listing from its page; Mo, a moderator, opens the reports from the
admin pages, opens Bob's report, removes the listing with a reason, and sees the report
resolved; alice logs in and reads why her listing went. Screenshots go to
tests/browser/screenshots/.
"""

from __future__ import annotations

from commonsfed.services import accounts, listings
from commonsfed.web.keys import POOL
from tests.browser.chromium import (
    BROWSER_MARKS,
    expect,
    new_page,
    register,
    snap,
)
from tests.browser.live import LiveNode
from tests.builders import DEFAULT_PASSWORD

pytestmark = BROWSER_MARKS

BIKE = {"purpose": "offer", "kind": "give", "title": "Nearly new e-bike", "category": "tools",
        "place": "Elm Street", "description": "Pay a deposit by bank transfer to see it."}  # fmt: skip
REASON = "Asks for money up front: listings here are for giving and lending."


async def alices_listing(node: LiveNode) -> str:
    pool = node.app[POOL]
    alice = await accounts.register(pool, node.settings, username="alice",
                                    email="alice@example.org", password=DEFAULT_PASSWORD,
                                    by_admin=True)  # fmt: skip
    return (await listings.create_listing(pool, node.settings, alice, BIKE, [])).uid


async def bob_reports(page, node: LiveNode, uid: str) -> None:
    await page.goto(node.url(f"/listings/{uid}"))
    await page.get_by_role("link", name="Report this listing").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Report the listing “Nearly new e-bike” by @alice"
    )
    await page.get_by_role("radio", name="A scam or fraud").check()
    await page.get_by_label("Anything the moderators should know").fill("Wants money first.")
    await snap(page, "moderation-1-report")
    await page.get_by_role("button", name="Send the report").click()
    await expect(page.get_by_role("status")).to_contain_text("Your report has reached")


async def mo_removes_the_listing(page, node: LiveNode) -> None:
    await page.goto(node.url("/"))  # a moderator now: the navigation shows Admin
    await page.get_by_role("navigation", name="Account").get_by_role("link", name="Admin").click()
    await page.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Reports").click()  # fmt: skip
    await expect(page).to_have_url(node.url("/admin/reports"))
    row = page.locator("table.reports tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Nearly new e-bike")
    await row.get_by_role("link").first.click()
    await expect(page.locator(".report-status")).to_have_text("Open")
    await expect(page.locator(".comment")).to_have_text("Wants money first.")
    await page.get_by_label("Remove the listing: why").fill(REASON)
    await snap(page, "moderation-2-report")
    await page.get_by_role("button", name="Remove the listing").click()
    await expect(page.get_by_role("status")).to_contain_text("The listing is removed")
    await expect(page.locator(".report-status")).to_have_text("Resolved")
    await expect(page.locator(".history")).to_contain_text(REASON)
    await snap(page, "moderation-3-resolved")


async def alice_reads_why(page, node: LiveNode) -> None:
    await page.goto(node.url("/login"))
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.goto(node.url("/notifications"))
    notice = page.locator(".moderation-notice")
    await expect(notice).to_contain_text("The moderators removed your listing “Nearly new e-bike”")
    await expect(notice).to_contain_text(REASON)
    await snap(page, "moderation-4-notice")


async def test_moderation__a_moderator_resolves_a_report_by_removing_the_listing(
    browser, live_node
):
    # Given alice's listing, Bob, and Mo, a moderator
    uid = await alices_listing(live_node)
    bob, mo, alice = [await new_page(browser) for _ in range(3)]
    await register(bob, live_node, "bob")
    await register(mo, live_node, "mo")
    await accounts.set_role(live_node.app[POOL], "mo", "moderator")

    # When Bob reports the listing and Mo removes it from the report, with a reason
    await bob_reports(bob, live_node, uid)
    await mo_removes_the_listing(mo, live_node)

    # Then the listing is gone, and alice reads why
    assert (await listings.get_listing(live_node.app[POOL], uid)) is None
    await alice_reads_why(alice, live_node)
