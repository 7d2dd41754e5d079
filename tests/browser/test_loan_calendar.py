"""The loan calendar in headless Chromium: bob, whose browser runs no JavaScript, asks for
days of alice's drill with the browser's own date inputs; alice confirms from her page; and
axe finds nothing wrong with the calendar in light mode on a wide screen and in dark mode
on a phone's, with days asked for and booked on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commonsfed.db import accounts as accounts_q
from commonsfed.services import listings
from commonsfed.web.keys import POOL
from tests.browser.axe import describe, violations
from tests.browser.chromium import BROWSER_MARKS, WAIT_MS, expect, new_page, register, snap
from tests.browser.live import LiveNode

pytestmark = BROWSER_MARKS

DRILL = {"purpose": "offer", "kind": "lend", "title": "Cordless drill", "category": "tools",
         "place": "Elm Street", "loan_days": "7"}  # fmt: skip


def day(n: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=n)).isoformat()


async def alices_drill(node: LiveNode) -> str:
    async with node.app[POOL].acquire() as conn:
        alice = await accounts_q.get_by_username(conn, "alice")
    return (await listings.create_listing(node.app[POOL], node.settings, alice, DRILL, [])).uid


async def phone_without_javascript(browser):
    """A phone's screen in dark mode, running no scripts (axe cannot run there)."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=False, color_scheme="dark"
    )
    context.set_default_timeout(WAIT_MS)
    return await context.new_page()


async def ask(page, pickup: str, back: str) -> None:
    await page.get_by_label("Pickup day").fill(pickup)
    await page.get_by_label("Return day").fill(back)
    await page.get_by_role("button", name="Ask for these days").click()


async def test_loan_calendar__asked_without_javascript_confirmed_and_accessible(browser, live_node):
    alices, bobs = await new_page(browser), await phone_without_javascript(browser)
    await register(alices, live_node, "alice")
    await register(bobs, live_node, "bob")
    path = live_node.url(f"/listings/{await alices_drill(live_node)}")

    # bob asks for a return day before the pickup day: the form says so by the field
    await bobs.goto(path)
    await ask(bobs, day(3), day(2))
    await expect(bobs.locator("#e-return_on")).to_have_text(
        "The return day cannot be before the pickup day."
    )
    # then for days 2 to 3, and again for days that overlap them
    await ask(bobs, day(2), day(3))
    await expect(bobs.locator(".bookings")).to_contain_text("asked, waiting for the lender")
    await ask(bobs, day(3), day(4))
    await expect(bobs.locator("#e-pickup_on")).to_contain_text("overlap a booking from")

    # alice confirms from her page; bob's calendar shows the days booked
    await alices.goto(path)
    await alices.get_by_role("button", name="Confirm").click()
    await expect(alices.locator(".flash, [role=status]").first).to_contain_text("confirmed")
    await ask(bobs, day(5), day(6))  # one more ask, so both states show
    await bobs.goto(path)
    await expect(bobs.locator(".calendar")).to_contain_text("booked")
    await expect(bobs.locator(".calendar")).to_contain_text("asked for")
    await snap(bobs, "loan-calendar-phone-dark")
    await alices.goto(path)
    await snap(alices, "loan-calendar-author")

    # axe runs in the page, so bob's calendar is checked from a phone in dark mode that runs
    # scripts, with his cookies
    checked = await browser.new_context(viewport={"width": 390, "height": 844},
                                        color_scheme="dark")  # fmt: skip
    await checked.add_cookies(await bobs.context.cookies())
    bobs_checked = await checked.new_page()
    await bobs_checked.goto(path)
    found = [describe(who, v) for who, page in (("alice", alices), ("bob", bobs_checked))
             if (v := await violations(page))]  # fmt: skip
    assert not found, "\n".join(found)
