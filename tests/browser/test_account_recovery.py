"""A resident who forgot her password gets back in, in headless Chromium.

alice has an account; on the login page she follows "Forgot your password?", asks for a
link, reads the mail in the dev node's mailbox (the node has no SMTP server, so its mail
goes to data/mail/ and /dev/mail lists it), follows the link, chooses a new password, and
logs in with it; the old one no longer works. The mail worker is stepped by the test, as
the node's own worker would send it. Screenshots go to tests/browser/screenshots/.
"""

from __future__ import annotations

import re

from commonsfed.services import accounts
from commonsfed.web.keys import POOL
from tests.browser.chromium import BROWSER_MARKS, expect, new_page, snap
from tests.browser.live import LiveNode
from tests.builders import DEFAULT_PASSWORD
from tests.integration.smtp import send_queued

pytestmark = BROWSER_MARKS

NEW_PASSWORD = "pebbles on the windowsill"


async def log_in(page, node: LiveNode, password: str) -> None:
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


async def test_forgotten_password__the_mailed_link_sets_a_new_one(live_node, browser):  # noqa: F811
    # Given alice, who has an account and forgot her password
    await accounts.register(
        live_node.app[POOL], live_node.settings, username="alice", email="alice@example.org",
        password=DEFAULT_PASSWORD, by_admin=True,
    )  # fmt: skip
    page = await new_page(browser)

    # When she asks for a link from the login page
    await page.goto(live_node.url("/login"))
    await page.get_by_role("link", name="Forgot your password?").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    await page.get_by_label("Email").fill("alice@example.org")
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "If an account here uses alice@example.org, a link to set a new password is on its way"
    )
    await snap(page, "recovery-1-link-asked")

    # and the worker sends it, and she opens it from the mailbox and follows its link
    await send_queued(live_node.app)
    await page.goto(live_node.url("/dev/mail"))
    await page.get_by_role("link", name="Set a new password on Elm Street Commons").click()
    await snap(page, "recovery-2-mail")
    await page.get_by_role("link", name=re.compile(r"password.reset")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("New password again").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set the new password").click()

    # Then the old password no longer logs her in, and the new one does
    await expect(page.get_by_role("status")).to_contain_text("Your new password is set")
    await snap(page, "recovery-3-password-set")
    await log_in(page, live_node, DEFAULT_PASSWORD)
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    await log_in(page, live_node, NEW_PASSWORD)
    # her first login ever (an admin made the account): the welcome page
    await expect(page).to_have_url(live_node.url("/welcome"))
    await expect(page.locator("header .who")).to_have_text("@alice")
