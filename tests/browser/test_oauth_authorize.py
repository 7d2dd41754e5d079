"""A resident authorises an app in headless Chromium: the authorize page asks her to log in,
brings her back, names the app and what it asks for, and on "Authorise" the browser follows
the redirect to the app's address with the code.

Chromium applies the page's Content-Security-Policy `form-action` to the redirect that
follows a form too, so this proves the consent page allows the app's own address (the
app's site is stood in for by Playwright's request routing).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

from commonsfed.services import oauth
from commonsfed.web.keys import POOL
from tests.browser.chromium import (
    BROWSER_MARKS,
    expect,
    new_page,
    register,
)
from tests.browser.live import LiveNode
from tests.builders import DEFAULT_PASSWORD

pytestmark = BROWSER_MARKS
CALLBACK = "https://app.example/callback"


async def test_authorize__a_resident_logs_in_and_authorises_an_app(live_node: LiveNode, browser):
    # Given alice, logged out, and an app that registered its callback address
    page = await new_page(browser)
    await register(page, live_node, "alice")
    await page.context.clear_cookies()
    app, _secret = await oauth.register_app(
        live_node.app[POOL], "Pocket Commons", [CALLBACK], ["read", "write"],
        "https://app.example",
    )  # fmt: skip
    reached: list[str] = []

    async def the_apps_site(route):
        reached.append(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="back in the app")

    await page.context.route("https://app.example/**", the_apps_site)
    query = urlencode({"client_id": app.client_id, "redirect_uri": CALLBACK,
                       "response_type": "code", "scope": "read write", "state": "st8"})  # fmt: skip
    # When she opens the authorize page the app sent her to, logs in, and authorises it
    await page.goto(live_node.url("/oauth/authorize?" + query))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Authorise Pocket Commons?")
    await expect(page.get_by_text("read everything on your account")).to_be_visible()
    await page.get_by_role("button", name="Authorise").click()
    # Then the browser goes back to the app with a code and her state
    await page.wait_for_url(re.compile(r"^https://app\.example/callback\?"))
    [url] = reached
    query = parse_qs(urlsplit(url).query)
    assert query["state"] == ["st8"] and len(query["code"][0]) > 20
