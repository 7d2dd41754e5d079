"""A listing of another neighbourhood, seen and answered in headless Chromium.

north.test and south.test are real nodes on loopback; south's neighbourhood follows north's.
Alice on north offers seedlings with a photo. Bob, on south, opens the listing on south:
its photo is on south's own address (south fetched it; the browser never asks north for
anything), the page names north's neighbourhood, and bob answers. After the nodes settle,
alice, logged in on north, sees bob's answer. Chromium reaches the nodes by their names
through its host resolver rules. Screenshots go to tests/browser/screenshots/.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest

from commonsfed.services import accounts, follows, listings
from commonsfed.services.photos import Upload
from tests.browser.chromium import (
    BROWSER_MARKS,
    CHROMIUM,
    CHROMIUM_ARGS,
    expect,
    playwright_api,
    register,
    snap,
)
from tests.builders import DEFAULT_PASSWORD, photo_bytes
from tests.nodes import settle

pytestmark = BROWSER_MARKS

SEEDLINGS = {
    "purpose": "offer", "kind": "give", "title": "Tomato seedlings", "category": "garden",
    "description": "Six sturdy seedlings in yoghurt pots.", "place": "Elm Street",
    "quantity": "6", "alt_1": "Six tomato seedlings on a windowsill",
}  # fmt: skip
ANSWER = "I would love two of them for my balcony!"
WAIT_MS = 10_000


@pytest.fixture
async def network(start_nodes):
    """north and south (open registration), south's neighbourhood following north's;
    alice on north with her seedlings posted, a photo with them."""
    open_door = {"registration": "open"}
    north, south = await start_nodes(2, **{"north.test": open_door, "south.test": open_door})
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    alice = await accounts.register(
        north.federation.pool, north.settings, username="alice", email="alice@example.org",
        password=DEFAULT_PASSWORD, by_admin=True,
    )  # fmt: skip
    photo = Upload("photo_1", "seedlings.jpg", photo_bytes("JPEG", (1200, 900), color="green"))
    listing = await listings.create_listing(
        north.federation.pool, north.settings, alice, SEEDLINGS, [photo]
    )
    await settle(north, south)
    return north, south, listing


@pytest.fixture
async def browser(network):
    north, south, _ = network
    rules = ", ".join(
        f"MAP {node.name}:80 {node.client.host}:{node.client.port}" for node in (north, south)
    )
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, f"--host-resolver-rules={rules}"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser, hosts: list[str]):
    """A page with cookies of its own; every host it asks anything of is added to `hosts`."""
    context = await browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    page.on("request", lambda request: hosts.append(urlsplit(request.url).netloc))
    return page


async def log_in(page, node, username: str) -> None:
    await page.goto(node.url("/login"))
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("header .who")).to_have_text(f"@{username}")


async def test_remote_listing__photo_from_the_viewers_node_and_answered(network, browser):
    north, south, listing = network
    uri = north.url(f"/listings/{listing.uid}")

    # Bob joins south and opens north's listing there
    bobs_hosts: list[str] = []
    bob = await new_page(browser, bobs_hosts)
    await register(bob, south, "bob")
    await bob.goto(south.url("/network/listing?" + urlencode({"uri": uri})))
    await expect(bob.get_by_role("heading", level=1)).to_have_text("Tomato seedlings")
    await expect(bob.locator(".tags")).to_contain_text("from North Commons")
    await expect(bob.locator(".tags")).to_contain_text("Give away")

    # its photo is served by south, loaded, and the browser never asked north for anything
    photo = bob.get_by_role("img", name="Six tomato seedlings on a windowsill")
    src = await photo.get_attribute("src")
    assert src is not None and src.startswith("/media/remote/"), src
    await expect(photo).to_have_js_property("complete", True)
    assert await photo.evaluate("img => img.naturalWidth") == 1200
    assert set(bobs_hosts) == {"south.test"}, bobs_hosts
    await snap(bob, "remote-listing-on-south")

    # he answers it from south
    await bob.get_by_label("Your answer").fill(ANSWER)
    await bob.get_by_role("button", name="Send my answer").click()
    await expect(bob).to_have_url(south.url("/conversations/1"))
    await expect(bob.locator("main")).to_contain_text(ANSWER)

    # after the nodes settle, alice sees his answer on north
    await settle(north, south)
    alice = await new_page(browser, [])
    await log_in(alice, north, "alice")
    await alice.goto(north.url(f"/listings/{listing.uid}"))
    await expect(alice.locator("main")).to_contain_text("bob")
    [conversation] = await north.query("SELECT id FROM conversations")
    await alice.goto(north.url(f"/conversations/{conversation['id']}"))
    await expect(alice.locator("main")).to_contain_text(ANSWER)
    await snap(alice, "remote-answer-on-north")
